"""The stages of one input, as functions of a validated configuration.

``load`` → ``preprocess`` → ``features`` (:func:`prepare_dataset`), then the clustering and NMF
helpers the runner calls after the latent projection. :mod:`sigma.pipeline.runner` strings them
together for one input or a batch.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .._errors import SigmaError
from .provenance import StageTimer

log = logging.getLogger(__name__)

__all__ = ["STAGES", "latent_input", "prepare_dataset"]

#: The stages of one input, in order.
STAGES = ("load", "preprocess", "features", "latent", "clustering", "nmf", "identify", "outputs", "report")


def _bar(total: int, desc: str, progress: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not progress, leave=False, unit="stage")


def _tick(bar, n=1):
    if bar is not None:
        bar.update(n)



def _dataset_class(kind: str, signal_type: str | None = None):
    """The dataset class of ``input.kind``; ``"auto"`` follows the data's own signal type."""
    from ..datasets import SEMDataset, TEMDataset

    if kind == "auto":
        return TEMDataset if str(signal_type or "").upper() == "EDS_TEM" else SEMDataset
    return SEMDataset if kind == "SEM" else TEMDataset


def load_dataset(path, cfg: dict, *, lazy: bool | None = None):
    """Open ``path`` as the configured dataset class (stage ``load``).

    ``path`` may also be a HyperSpy signal. With ``input.kind = "auto"`` (the default) data
    recorded as ``EDS_TEM`` open as a :class:`~sigma.datasets.TEMDataset` and anything else as
    a :class:`~sigma.datasets.SEMDataset`; the file is read once either way.
    """
    inp = cfg["input"]
    if hasattr(path, "axes_manager"):
        from ..datasets._signals import raw_from_signal

        raw, nav = raw_from_signal(path, signal_type=None), None
    else:
        from ..io import load

        lazy = inp["lazy"] if lazy is None else lazy
        raw, nav = load(Path(path), lazy=lazy, **inp["reader_args"]), inp["nav_image"] or None
    return _dataset_class(inp["kind"], raw.signal_type)(raw, nag_file_path=nav)


#: ``preprocess.bin = "auto"``: the bin size by the map's kind. A TEM map's particles are a few
#: pixels across and its boundary pixels thin particle edges over the film: on independent TEM
#: phantoms (spheres of magnetite/silica core-shell, Au, CeO2, TiO2, PdAg, Al2O3 on a carbon
#: film, 20-60 counts per particle pixel) the default's ARI was 0.84-0.86 at 3 × 3, below
#: HyperSpy's 0.88-0.90 on the same grid, and 0.90-0.93 at 2 × 2, above HyperSpy's 0.75-0.89.
AUTO_BIN = {"SEM": (3, 3), "TEM": (2, 2)}


def bin_size(ds, cfg: dict) -> tuple[int, int]:
    """The bin size ``preprocess.bin`` asks for this dataset (``"auto"`` by its kind).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from sigma.pipeline.config import validate_config
    >>> tem = SimpleNamespace(_signal_type="EDS_TEM")
    >>> bin_size(tem, validate_config()), bin_size(tem, validate_config({"preprocess": {"bin": [4, 4]}}))
    ((2, 2), (4, 4))
    """
    b = cfg["preprocess"]["bin"]
    if b == "auto":
        from ..clustering._identify import _dataset_kind

        return AUTO_BIN[_dataset_kind(ds)]
    return int(b[0]), int(b[1])


def preprocess_dataset(ds, cfg: dict) -> None:
    """Rebin, normalise each spectrum and crop the zero-energy peak (stage ``preprocess``)."""
    p = cfg["preprocess"]
    by, bx = bin_size(ds, cfg)
    if (by, bx) != (1, 1):
        h, w = (int(n) for n in ds.shape[:2])
        if by > h or bx > w:
            from .._errors import bad_file

            raise bad_file(
                getattr(ds, "file_path", None) or "the input",
                f"holds a map of {h} × {w} pixels, smaller than the bin size "
                f"{by} × {bx} (preprocess.bin)",
                "preprocess.bin = [1, 1] (or no larger than the map) for so small a map",
            )
        ds.rebin_signal(size=(by, bx))
    if p["peak_intensity_normalisation"]:
        ds.peak_intensity_normalisation()
    if p["remove_first_peak"] is not False:
        ds.remove_first_peak(end=p["remove_first_peak"])


def feature_dataset(ds, cfg: dict, feature_list=None) -> np.ndarray:
    """Line maps, optional BSE feature and the normalisation chain (stage ``features``)."""
    f = cfg["features"]
    lines = feature_list if feature_list is not None else (None if f["lines"] == "auto" else f["lines"])
    if lines is not None:
        ds.set_feature_list(list(lines))
    elif not [x for x in ds.feature_list if x != "Navigator"]:
        _no_lines_found(ds)
    elif f["min_line_counts"] > 0:
        _drop_weak_lines(ds, f["min_line_counts"])
    if f["bse"]:
        return ds.get_feature_maps_with_nav_img(normalisation=f["normalisation"])
    if "Navigator" in ds.feature_list and feature_list is None and f["lines"] == "auto":
        ds.set_feature_list([x for x in ds.feature_list if x != "Navigator"])
    return ds.normalisation(f["normalisation"])


def _no_lines_found(ds):
    """Refuse a dataset on which no X-ray line was found automatically, saying why."""
    from .._errors import bad_file
    path = getattr(ds, "file_path", None) or "the input"
    data = (ds.spectra_raw if ds.spectra_raw is not None else ds.spectra).data
    total = float(np.asarray(data.sum(dtype=np.float64)))
    if total == 0:
        raise bad_file(path, "holds no counts (every channel of every pixel is 0)",
                       "a spectrum image with counts")
    raise bad_file(
        path,
        f"has no X-ray lines found automatically ({total:.0f} counts in total, no element "
        "named in the file and no peak strong enough in its sum spectrum)",
        "features.lines naming the lines to map, e.g. [\"Fe_Ka\", \"Si_Ka\"]",
    )


def _weak_lines(ds, min_counts: float, lines=None) -> list[str]:
    """``ds.weak_lines``, or ``[]`` (keep every line) when the dataset has no counts to judge by."""
    try:
        return ds.weak_lines(min_counts, lines)
    except SigmaError as exc:  # no counts kept (e.g. normalised spectra without their counts)
        log.info("line counts unavailable (%s); keeping every line", exc)
        return []


def _drop_weak_lines(ds, min_counts: float) -> list[str]:
    """Drop the automatically chosen lines that are too weak per pixel (``min_line_counts``).

    Their window sums are cached by the dataset, so the following normalisation reads the
    spectra no more. At least one line is kept. Returns the dropped lines.
    """
    weak = _weak_lines(ds, min_counts)
    keep = [x for x in ds.feature_list if x not in weak]
    if weak and any(x != "Navigator" for x in keep):
        log.warning(
            "dropped %s from the automatic feature list: fewer than %g counts per pixel in "
            "their brightest 5 %% of pixels (set features.min_line_counts = 0 to keep them)",
            ", ".join(weak), min_counts,
        )
        ds.set_feature_list(keep)
        return weak
    return []


def prepare_dataset(path, cfg: dict, timer: StageTimer | None = None, *, lazy=None, bar=None):
    """Load, pre-process and compute the normalised features of one input.

    Examples
    --------
    >>> from sigma.synthetic import make_phantom
    >>> from sigma.pipeline.config import validate_config
    >>> cfg = validate_config({"preprocess": {"bin": [2, 2]}})
    >>> ph = make_phantom((8, 10), n_channels=256, energy_scale=0.08, counts_per_pixel=20)
    >>> ds = prepare_dataset(ph.to_signal(), cfg)
    >>> ds.normalised_elemental_data.shape  # C_Ka is too weak per pixel and left out
    (4, 5, 7)
    """
    timer = timer or StageTimer()
    with timer("load"):
        ds = load_dataset(path, cfg, lazy=lazy)
    _tick(bar)
    with timer("preprocess"):
        preprocess_dataset(ds, cfg)
    _tick(bar)
    with timer("features"):
        feature_dataset(ds, cfg)
    _tick(bar)
    return ds


def _flat_features(ds) -> np.ndarray:
    x = np.asarray(ds.normalised_elemental_data, dtype=np.float32)
    return x.reshape(-1, x.shape[-1])


def latent_input(ds, cfg: dict) -> np.ndarray:
    """``(N, F)`` feature vectors the latent projection sees (``features.source``).

    ``"lines"``: the normalised line maps (``ds.normalised_elemental_data``). ``"spectrum"``:
    Poisson-PCA scores of the whole binned spectrum through the same normalisation chain;
    ``"both"``: the two side by side. Both come from
    :meth:`~sigma.datasets.SpectrumDataset.normalised_features`, as in a notebook.

    Examples
    --------
    >>> from sigma.synthetic import make_phantom
    >>> from sigma.pipeline.config import validate_config
    >>> cfg = validate_config({"preprocess": {"bin": [1, 1]}, "features": {"source": "both",
    ...                        "spectrum_components": 3}})
    >>> ds = prepare_dataset(make_phantom((8, 10), n_channels=256, energy_scale=0.08).to_signal(), cfg)
    >>> latent_input(ds, cfg).shape  # 8 lines + 3 scores
    (80, 11)
    """
    f = cfg["features"]
    if f["source"] == "lines":
        return _flat_features(ds)
    # the dataset method a notebook uses (the chain of the features stage, valid pixels only)
    x = ds.normalised_features(f["source"], n_components=f["spectrum_components"])
    return np.asarray(x, dtype=np.float32).reshape(-1, x.shape[-1])


def _segment(latent, ds, cfg: dict):
    from ..clustering import PixelSegmenter

    cl = cfg["clustering"]
    refine = None if cl["refine"] == "none" else cl["refine"]
    return PixelSegmenter(latent, ds, cl["method"], dict(cl["method_args"]),
                          random_state=cl["method_args"].get("random_state", 0) or 0,
                          refine=refine, refine_args={"smoothness": cl["smoothness"]},
                          auto_args={"max_components": cl["max_components"],
                                     "smoothness": cl["smoothness"]})


def _unmix(ps, cfg: dict, progress: bool):
    """NMF on the cluster spectra and per-pixel abundances; ``None`` when disabled/impossible."""
    n = cfg["nmf"]
    if not n["enabled"]:
        return None
    ids = ps.cluster_ids.tolist() if n["clusters"] == "All" else list(n["clusters"])
    k = n["n_components"]
    if k != "All" and k > len(ids):
        log.warning("nmf.n_components = %d but only %d clusters: using %d", k, len(ids), len(ids))
        k = len(ids)
    if not ids:
        log.warning("no clusters: NMF skipped")
        return None
    args = dict(n["method_args"])
    seeds = n["seed_clusters"]
    if seeds == "auto":
        # K cluster spectra into K end-members: any invertible mixing fits equally well, and an
        # unseeded NMF returns rotated mixtures (phantom: up to 66 degrees off); seeded, the
        # end-members start from, and stay near, the cluster spectra.
        seeds = list(ids) if k == "All" or k == len(ids) else []
        if seeds:
            log.info("nmf.seed_clusters = 'auto': every cluster seeds the NMF (%d components)", len(ids))
    if seeds:
        w, c = ps.get_unmixed_spectra_profile_init_guess(
            clusters_to_be_calculated=n["clusters"], n_components=k, normalised=n["normalised"],
            method=n["method"], method_args=args, seed_clusters=list(seeds),
        )
    else:
        w, c = ps.get_unmixed_spectra_profile(
            clusters_to_be_calculated=n["clusters"], n_components=k, normalised=n["normalised"],
            method=n["method"], method_args=args,
        )
    ab = ps.abundance_maps(progress=progress)
    return {"weights": np.asarray(w), "components": np.asarray(c), "abundance": np.asarray(ab),
            "cluster_ids": np.asarray(ps.nmf_cluster_ids)}


def _unmix_stage(ps, cfg: dict, timer, progress):
    """The NMF stage; its failure is recorded, not raised (the clustering's outputs stay).

    Returns ``(unmix, None)`` or ``(None, failure)`` (:func:`~sigma.pipeline.results.stage_failure`).
    """
    from .results import STAGE_ERRORS, stage_failure

    try:
        with timer("nmf"):
            return _unmix(ps, cfg, progress), None
    except STAGE_ERRORS as exc:
        return None, stage_failure("nmf", exc)
