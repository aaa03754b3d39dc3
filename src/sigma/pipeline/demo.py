"""``sigma demo``: the tutorial's whole pipeline on a built-in synthetic phantom.

A seeded SEM phantom (quartz matrix with albite, magnetite, calcite and ilmenite) is written as
``phantom.hspy`` with its BSE image as ``phantom_bse.tiff`` in a temporary folder, then run
through exactly the stages of ``sigma run`` with :data:`DEMO_CONFIG`. Because the true phase map
is known, the report gains a "Ground truth" section with the adjusted Rand index.

Examples
--------
>>> DEMO_CONFIG["clustering"]["method"], DEMO_CONFIG["preprocess"]["bin"]
('GaussianMixture', [2, 2])
"""

from __future__ import annotations

import copy
import logging
import tempfile
from pathlib import Path

import numpy as np

from .config import read_toml, validate_config
from .runner import RunResult, run_batch

log = logging.getLogger(__name__)

__all__ = ["DEMO_CONFIG", "run_demo"]

#: Overrides of the defaults used by the demo (five phases, so five Gaussians and end-members).
DEMO_CONFIG = {
    "preprocess": {"bin": [2, 2], "peak_intensity_normalisation": True, "remove_first_peak": 0.1},
    "features": {"lines": "auto", "bse": False, "normalisation": ["neighbour_averaging", "zscore"]},
    "latent": {"method": "umap", "umap": {"n_neighbors": 15, "min_dist": 0.02, "random_state": 0}},
    "clustering": {
        "method": "GaussianMixture",
        "method_args": {"n_components": 5, "random_state": 0, "init_params": "kmeans"},
    },
    "nmf": {"n_components": 5, "method_args": {"init": "nndsvda", "max_iter": 2000, "random_state": 0}},
}


def _deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and not k.endswith("args"):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def demo_config(config_path=None) -> dict:
    """The demo's validated configuration, optionally overridden by a TOML file."""
    user = {}
    if config_path is not None:
        user = read_toml(config_path)
    return validate_config(_deep_merge(DEMO_CONFIG, user), source=config_path)


def ground_truth_section(labels: np.ndarray, phantom) -> tuple[str, float]:
    """HTML of the ground-truth comparison and the adjusted Rand index.

    ``labels`` on a binned grid are repeated back to the phantom's resolution first.
    """
    import html

    from sklearn.metrics import confusion_matrix

    from ..synthetic import ground_truth_ari

    fy = phantom.labels.shape[0] // labels.shape[0]
    fx = phantom.labels.shape[1] // labels.shape[1]
    full = np.repeat(np.repeat(labels, fy, axis=0), fx, axis=1)
    truth = phantom.labels[: full.shape[0], : full.shape[1]]
    ari = ground_truth_ari(full, truth)
    ids = sorted(np.unique(full).tolist())
    n_true = len(phantom.phase_names)
    cm = confusion_matrix(truth.ravel() + 1000, full.ravel(), labels=[*(1000 + i for i in range(n_true)), *ids])
    rows = "".join(
        f"<tr><td class='l'>{html.escape(name)}</td>"
        + "".join(f"<td>{v}</td>" for v in cm[i, n_true:]) + "</tr>"
        for i, name in enumerate(phantom.phase_names)
    )
    head = "".join(f"<th>cluster {i}</th>" for i in ids)
    body = (
        f"<p>Adjusted Rand index against the phantom's true phase map: <b>{ari:.3f}</b> "
        "(1 = the same partition; computed at the phantom's resolution).</p>"
        f"<table><tr><th class='l'>true phase \\ pixels in</th>{head}</tr>{rows}</table>"
    )
    return body, ari


def run_demo(out="demo_output", *, overwrite: bool = False, size=(96, 128), config_path=None,
             progress: bool = True, counts_per_pixel: float = 200, seed: int = 0) -> RunResult:
    """Make the phantom, run the pipeline on it, and score the phase map against the truth.

    Returns
    -------
    RunResult
        ``out_dir`` is ``OUT/phantom``; ``report`` its ``report.html``. ``run.json`` holds
        ``extra.ground_truth_ari``.

    Examples
    --------
    A small phantom (the full demo, ``sigma demo``, uses 96 x 128 pixels):

    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> res = run_demo(out, size=(16, 16), progress=False)  # doctest: +SKIP
    >>> res.ok, res.report.name  # doctest: +SKIP
    (True, 'report.html')
    """
    from ..synthetic import make_phantom
    from .outputs import atomic_write_tiff

    cfg = demo_config(config_path)
    phantom = make_phantom(tuple(size), counts_per_pixel=counts_per_pixel, seed=seed)
    extra: dict = {}

    def after_outputs(ps, record):
        body, ari = ground_truth_section(np.asarray(ps.labels), phantom)
        extra["Ground truth (demo phantom)"] = body
        return {"ground_truth_ari": ari, "phantom": {"shape": list(size), "seed": seed,
                                                     "counts_per_pixel": counts_per_pixel,
                                                     "phases": list(phantom.phase_names)}}

    with tempfile.TemporaryDirectory(prefix="sigma-demo-") as tmp:
        src = phantom.save_hspy(Path(tmp) / "phantom.hspy")
        bse = atomic_write_tiff(Path(tmp) / "phantom_bse.tiff", np.asarray(phantom.nav_img, np.float32))
        cfg["input"]["nav_image"] = str(bse)
        [res] = run_batch([src], cfg, out, overwrite=overwrite, progress=progress,
                          report_extra=extra, after_outputs=after_outputs)
    return res
