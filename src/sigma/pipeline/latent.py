"""Latent projections that can be fitted on some pixels and applied to others.

The pipeline needs both "fit on everything" (one file) and "fit on a balanced sample, then
project every pixel of every file" (``--shared-phases``, or ``latent.fit_pixels`` on a large
map). :class:`LatentProjector` does both for UMAP (fit on the sample, then every other pixel
placed from its nearest fitted pixels, :func:`~sigma.embedding.umap.place_by_neighbours`, or
with ``UMAP.transform`` when ``extend = "transform"``) and for the
autoencoder (:class:`~sigma.embedding.experiment.Experiment` trained on the sample, then its
encoder applied to all pixels).

Examples
--------
>>> import numpy as np
>>> from sigma.pipeline.config import default_config
>>> cfg = default_config()["latent"]
>>> cfg["umap"]["n_neighbors"] = 5
>>> x = np.random.default_rng(0).normal(size=(60, 3)).astype("float32")
>>> proj = LatentProjector(cfg).fit(x[:40])
>>> proj.transform(x).shape
(60, 2)
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

from .._errors import bad_value

log = logging.getLogger(__name__)

__all__ = ["LatentProjector", "balanced_sample"]

#: Pixels encoded per batch by the autoencoder.
_ENCODE_BATCH = 65536


def balanced_sample(sizes, n_per_input: int, seed: int = 0) -> list[np.ndarray]:
    """Random pixel indices from every input, sorted and without repeats: ``n_per_input``
    from each input that has them, all pixels of a smaller one.

    Every input weighs the same in a shared fit unless it has fewer pixels than
    ``n_per_input``; then it gives what it has, and the others are not cut down to its size.

    Examples
    --------
    >>> [len(i) for i in balanced_sample([100, 30, 80], 50)]
    [50, 30, 50]
    >>> balanced_sample([3], 10)[0].tolist()
    [0, 1, 2]
    """
    n_per_input = int(n_per_input)
    if n_per_input < 1:
        raise bad_value("n_per_input", n_per_input, "an int >= 1")
    sizes = [int(v) for v in sizes]
    if any(s < 0 for s in sizes):
        raise bad_value("sizes", sizes, "pixel counts >= 0")
    rng = np.random.default_rng(seed)
    out = []
    for s in sizes:
        out.append(np.sort(rng.choice(s, size=min(n_per_input, s), replace=False)))
    return out


class LatentProjector:
    """Fit a latent projection on some feature vectors and project any others.

    Parameters
    ----------
    config : dict
        The ``[latent]`` table of the configuration.
    work_dir : path-like, optional
        Where the autoencoder writes its checkpoints (a temporary folder when omitted).
    progress : bool
        Show the autoencoder's training bar.

    Attributes
    ----------
    model_ : object
        The fitted ``umap.UMAP`` or :class:`~sigma.embedding.experiment.Experiment`.
    fit_latent_ : ndarray
        ``(n_fit, d)`` latent coordinates of the fitted pixels.

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.pipeline.config import default_config
    >>> x = np.random.default_rng(0).normal(size=(200, 3)).astype("float32")
    >>> lp = LatentProjector(default_config()["latent"], progress=False)
    >>> lp.method
    'umap'
    >>> z = lp.fit(x).transform(x)
    >>> z.shape, z.dtype
    ((200, 2), dtype('float32'))
    """

    def __init__(self, config: dict, *, work_dir=None, progress: bool = True):
        self.config = config
        self.work_dir = work_dir
        self.progress = progress

    @property
    def method(self) -> str:
        """The projection, ``'umap'`` or ``'autoencoder'`` (``config['method']``)."""
        return self.config["method"]

    def fit(self, x: np.ndarray) -> LatentProjector:
        """Fit on ``(N, F)`` feature vectors; returns ``self``."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if self.method == "umap":
            self._fit_umap(x)
        else:
            self._fit_autoencoder(x)
        return self

    def _fit_umap(self, x):
        from ..embedding.umap import embed_umap

        p = dict(self.config["umap"])
        n_neighbors = min(p.pop("n_neighbors"), max(2, len(x) - 1))
        p["n_epochs"] = p["n_epochs"] or None
        with warnings.catch_warnings():
            # a seed makes UMAP single-threaded; it says so on every fit
            warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
            # exact neighbours + numba's on-disk cache: no pynndescent compile in every process
            latent, self.model_ = embed_umap(
                x, n_neighbors=n_neighbors, max_fit_samples=None, progress=self.progress,
                return_model=True, **p,
            )
        self.fit_latent_ = np.asarray(latent, dtype=np.float32)
        self._fit_x = x
        self._n_neighbors = n_neighbors

    def _fit_autoencoder(self, x):
        import tempfile

        from ..embedding import autoencoder as ae_mod
        from ..embedding.experiment import Experiment, same_seeds

        a = self.config["autoencoder"]
        same_seeds(a["seed"])
        if self.work_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="sigma-ae-")
            work = Path(self._tmp.name)
        else:
            work = Path(self.work_dir)
        ex = Experiment(
            descriptor=a["descriptor"], general_results_dir=work,
            model=getattr(ae_mod, a["model"]),
            model_args={"hidden_layer_sizes": tuple(a["hidden_layer_sizes"]), "latent_dim": a["latent_dim"]},
            chosen_dataset=x, save_model_every_epoch=a["save_model_every_epoch"],
            device=None if a["device"] == "auto" else a["device"],
        )
        run = dict(a["run"])
        sched = dict(run["lr_scheduler_args"])
        if "verbose" in sched:
            import inspect

            import torch

            if "verbose" not in inspect.signature(torch.optim.lr_scheduler.ReduceLROnPlateau).parameters:
                sched.pop("verbose")  # newer torch: the Experiment logs LR changes itself
        run["lr_scheduler_args"] = sched or None
        ex.run_model(**run, progress_bar=self.progress)
        self.model_ = ex
        self.fit_latent_ = np.asarray(ex.get_latent(), dtype=np.float32)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Latent coordinates ``(N, d)`` float32 of ``(N, F)`` feature vectors."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if self.method == "umap":
            if x.shape == self._fit_x.shape and np.array_equal(x, self._fit_x):
                return self.fit_latent_.copy()
            from ..embedding.umap import _SKLEARN_METRICS, place_by_neighbours

            metric = self.config["umap"]["metric"]
            if self.config.get("extend", "knn") == "knn" and metric in _SKLEARN_METRICS:
                return place_by_neighbours(
                    self._fit_x, self.fit_latent_, x, n_neighbors=self._n_neighbors,
                    metric=metric, progress=self.progress,
                )
            return np.asarray(self.model_.transform(x), dtype=np.float32)
        import torch

        ex = self.model_
        ex.model.eval()
        out = []
        with torch.inference_mode():
            for s in range(0, len(x), _ENCODE_BATCH):
                xb = torch.from_numpy(x[s : s + _ENCODE_BATCH]).to(ex.device)
                out.append(ex.model.encode(xb).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.config["autoencoder"]["latent_dim"]), np.float32)

    def fit_transform_sampled(self, x: np.ndarray, max_fit: int = 0, seed: int = 0) -> np.ndarray:
        """Fit on all rows (``max_fit=0`` or ``>= N``) or on ``max_fit`` random rows, and
        return the latent coordinates of every row."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        n = len(x)
        if not max_fit or max_fit >= n:
            self.fit(x)
            return self.fit_latent_
        idx = np.sort(np.random.default_rng(seed).choice(n, size=max_fit, replace=False))
        log.info("fitting the %s projection on %d of %d pixels", self.method, max_fit, n)
        self.fit(x[idx])
        out = self.transform(x)
        out[idx] = self.fit_latent_
        return out
