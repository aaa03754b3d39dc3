"""PixelSegmenter: clusters of latent points as a phase map, with undoable edits.

State has one shape and one owner. ``labels`` is always an ``(H, W)`` int array with ``-1``
for noise, and it is read-only from outside: every change goes through an edit method
(:meth:`~PixelSegmenter.merge_clusters`, :meth:`~PixelSegmenter.create_cluster`,
:meth:`~PixelSegmenter.create_cluster_from_latent_region`, :meth:`~PixelSegmenter.recolour`,
:meth:`~PixelSegmenter.reset`), which records it on an undo stack and keeps every derived
quantity (``cluster_ids``, ``counts``, ``mu``, ``colors``, ``prob_map``, cached spectra)
consistent with the labels. Cluster ids are never renumbered.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from sigma._errors import SigmaError, bad_file, bad_value
from sigma.clustering.geometry import points_in_region
from sigma.clustering.masks import read_image_shape, write_cluster_masks
from sigma.clustering.methods import fit_clusters
from sigma.clustering.palette import NOISE_COLOR, cluster_palette, next_free_color, normalise_color
from sigma.clustering.state import FORMAT_VERSION, read_state, write_state

__all__ = ["PixelSegmenter"]

logger = logging.getLogger(__name__)


def _jsonable(obj):
    """Plain-JSON copy of method arguments (numpy scalars and tuples converted; anything
    else is stored as its ``repr`` string)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    return repr(obj)


def _nav_shape(dataset) -> tuple[int, int, int]:
    data = getattr(dataset, "normalised_elemental_data", None)
    shape = getattr(data, "shape", None)
    if shape is None or len(shape) != 3:
        raise bad_value(
            "dataset",
            type(dataset).__name__,
            "a dataset with normalised_elemental_data of shape (H, W, F) "
            "(run dataset.normalisation(...) first)",
        )
    return int(shape[0]), int(shape[1]), int(shape[2])


class PixelSegmenter:
    """Cluster the latent points of every pixel and edit the resulting phase map.

    Parameters
    ----------
    latent : array_like, shape (N, d)
        One latent point per pixel, in the row-major order of
        ``dataset.normalised_elemental_data.reshape(-1, F)``; ``N = H * W``.
    dataset : SEMDataset, TEMDataset or similar
        Must provide ``normalised_elemental_data`` (H, W, F). Spectral methods also use
        ``analysis_spectra`` (signal whose ``.data`` is (H, W, C), numpy or dask),
        ``energy_axis`` (C,) and ``feature_list``.
    method : str or estimator
        ``'GaussianMixture'``, ``'BayesianGaussianMixture'``, ``'Kmeans'``, ``'Birch'``,
        ``'HDBSCAN'`` (scikit-learn's) or any object with ``fit_predict``.
    method_args : dict, optional
        Keyword arguments of that scikit-learn class, e.g.
        ``{'n_components': 50, 'random_state': 0, 'init_params': 'kmeans'}``.
    max_fit_samples : int or None, keyword-only
        HDBSCAN is fitted on a random sample of at most this many points and the others are
        assigned to their nearest sampled neighbour (or -1), so its cost stays near linear.
    random_state : int or None, keyword-only
        Seed of that sample.
    refine : {None, 'spectra'}, keyword-only
        ``'spectra'``: after clustering, reassign every pixel to the cluster whose mean
        spectrum best explains its counts, with a Potts prior over its 8 neighbours
        (:func:`sigma.clustering.refine.reassign_by_spectra`, reading
        ``dataset.analysis_spectra``). This undoes the boundary blur of
        ``neighbour_averaging``. Probabilities then come from the spectral scores; noise
        pixels stay noise. ``None`` (default, as in the tutorial) keeps the clusterer's labels.
    refine_args : dict, optional, keyword-only
        ``iterations``, ``smoothness``, ``icm_iterations`` of
        :func:`~sigma.clustering.refine.reassign_by_spectra`.

    Attributes
    ----------
    labels : ndarray of int32, shape (H, W)
        Cluster id per pixel, -1 for noise. Read-only; use the edit methods.
    labels_original : ndarray of int32, shape (H, W)
        The clustering as fitted (what :meth:`reset` returns to).
    cluster_ids : ndarray of int
        Sorted unique labels >= 0. Every per-cluster array is in this order.
    counts : ndarray of int
        Pixels per cluster, aligned with ``cluster_ids``.
    mu : ndarray, shape (K, d)
        Mean latent point per cluster, aligned with ``cluster_ids``.
    feature_means : ndarray, shape (K, F)
        Mean normalised feature vector per cluster.
    colors : dict of int -> str
        ``'#rrggbb'`` per cluster id, plus -1 (noise). The one colour source for all views.
    prob_map : ndarray of float32, shape (H, W, K_fit) or None
        For Gaussian mixtures, the probability of each cluster id (column index = id). After
        a merge the merged components' columns are summed into the target's column (the
        others become 0). After a hand-made cluster (:meth:`create_cluster`) it is ``None``
        until undone or reset: the model gives no probability for a cluster it never saw,
        and a one-hot map would fake a certainty it does not have. ``None`` for methods
        without ``predict_proba``.
    membership : ndarray of float32, shape (H, W) or None
        HDBSCAN's membership strength (``probabilities_``) of each pixel in its own cluster;
        not a probability over clusters. ``None`` after :meth:`create_cluster`, like
        ``prob_map``.
    model : estimator or None
        The fitted estimator. Not stored in state files: ``None`` after
        :meth:`from_saved_state` (labels, probabilities and colours are restored; refit by
        building a new PixelSegmenter if the model itself is needed).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> rng = np.random.default_rng(0)
    >>> ds = SimpleNamespace(normalised_elemental_data=rng.random((4, 5, 3), dtype=np.float32))
    >>> latent = np.r_[rng.normal(0, 0.1, (10, 2)), rng.normal(3, 0.1, (10, 2))]
    >>> ps = PixelSegmenter(latent, ds, "GaussianMixture", {"n_components": 2, "random_state": 0})
    >>> ps.labels.shape, ps.cluster_ids.tolist(), ps.counts.tolist()
    ((4, 5), [0, 1], [10, 10])
    >>> ps.merge_clusters([0, 1])
    >>> ps.cluster_ids.tolist(), ps.prob_map[..., 0].min().round(3)
    ([0], np.float32(1.0))
    >>> ps.undo()
    >>> ps.cluster_ids.tolist()
    [0, 1]
    """

    def __init__(
        self,
        latent,
        dataset,
        method="GaussianMixture",
        method_args=None,
        *,
        max_fit_samples=50_000,
        random_state=0,
        refine=None,
        refine_args=None,
    ):
        h, w, _ = _nav_shape(dataset)
        if refine not in (None, "spectra"):
            raise bad_value("refine", refine, "None or 'spectra'")
        if refine_args is not None and not isinstance(refine_args, dict):
            raise bad_value("refine_args", refine_args, "a dict or None")
        latent = np.asarray(latent)
        if latent.ndim == 1:
            latent = latent[:, None]
        if latent.ndim != 2:
            raise bad_value("latent", latent.shape, "an array of shape (N, d)")
        if len(latent) != h * w:
            raise bad_value(
                "latent",
                f"{len(latent)} points",
                f"one point per pixel: {h * w} = {h} x {w} points from the dataset's "
                f"normalised_elemental_data",
            )
        if not np.isfinite(latent).all():
            raise bad_value("latent", "an array with NaN or inf", "finite latent coordinates")
        fit = fit_clusters(
            latent,
            method,
            method_args,
            max_fit_samples=max_fit_samples,
            random_state=random_state,
        )
        self.dataset = dataset
        self.method = method
        self.method_args = dict(method_args or {})
        self.model = fit.model
        self.max_fit_samples = max_fit_samples
        self.random_state = random_state
        self.refine = refine
        self.refine_args = dict(refine_args or {})
        labels, proba, membership = fit.labels, fit.proba, fit.membership
        if refine == "spectra":
            labels, proba, membership = self._refined(labels, proba, h, w)
        self._setup(latent, h, w, labels, proba, membership)
        logger.info(
            "%s: %d clusters, %d noise pixels", self._method_name(), self.n_clusters,
            int((self._labels == -1).sum()),
        )  # fmt: skip

    def _refined(self, labels, proba, h, w):
        from sigma.clustering.refine import reassign_by_spectra

        spectra = getattr(self.dataset, "analysis_spectra", None)
        data = getattr(spectra, "data", None)
        if data is None or getattr(data, "ndim", 0) != 3 or tuple(data.shape[:2]) != (h, w):
            raise bad_value(
                "refine", "'spectra'",
                f"a dataset whose analysis_spectra hold an ({h}, {w}, C) cube, or refine=None",
            )
        allowed = {"iterations", "smoothness", "icm_iterations"}
        unknown = sorted(set(self.refine_args) - allowed)
        if unknown:
            raise bad_value("refine_args", unknown[0], "keys among " + ", ".join(sorted(allowed)))
        lab = np.asarray(labels, dtype=np.int32).reshape(h, w)
        new, post = reassign_by_spectra(data, lab, **self.refine_args)
        moved = int((new != lab).sum())
        logger.info("refine='spectra': %d of %d pixels changed cluster", moved, lab.size)
        if proba is None:
            return new.ravel(), None, None  # the clusterer gave no probabilities: none made up
        k = proba.shape[1]
        full = np.zeros((h * w, k), dtype=np.float32)
        full[:, : post.shape[-1]] = post.reshape(h * w, -1)[:, :k]
        return new.ravel(), full, None

    # ------------------------------------------------------------------ state set-up
    def _setup(self, latent, h, w, labels, proba, membership):
        self.latent = latent
        self.height, self.width = int(h), int(w)
        self._labels = np.asarray(labels, dtype=np.int32).reshape(h, w).copy()
        self._labels_original = self._labels.copy()
        self._labels_original.flags.writeable = False
        self._proba = None if proba is None else np.asarray(proba, dtype=np.float32)
        self._membership = None if membership is None else np.asarray(membership, np.float32)
        if self._proba is not None:
            self._n_fit = self._proba.shape[1]
            self._component_map = np.arange(self._n_fit, dtype=np.int32)
        else:
            self._n_fit = int(self._labels.max()) + 1 if self._labels.size else 0
            self._component_map = None
        self._component_map_original = (
            None if self._component_map is None else self._component_map.copy()
        )
        self._prob_valid = True
        palette = cluster_palette(max(self._n_fit, int(self._labels.max()) + 1, 0))
        self.colors = {int(i): palette[int(i)] for i in self._unique_ids()}
        self.colors[-1] = NOISE_COLOR
        self._colors_original = dict(self.colors)
        self._undo: list[dict] = []
        self._cache: dict = {}
        self.nmf_weights = self.nmf_components = self.nmf_model = None
        self.nmf_cluster_ids = None
        self.weights_index: list[str] = []
        self.weights_columns: list[str] = []
        self.nmf_reconstruction_error = None

    def _method_name(self) -> str:
        m = self.method
        return m if isinstance(m, str) else f"{type(m).__module__}.{type(m).__qualname__}"

    def _unique_ids(self) -> np.ndarray:
        lab = self._labels
        return np.unique(lab[lab >= 0]).astype(np.int64)

    # ------------------------------------------------------------------ derived state
    @property
    def labels(self) -> np.ndarray:
        """(H, W) int32 cluster ids, -1 for noise (read-only view)."""
        view = self._labels.view()
        view.flags.writeable = False
        return view

    @property
    def labels_original(self) -> np.ndarray:
        """(H, W) int32 labels as first fitted (read-only)."""
        return self._labels_original

    @property
    def n_pixels(self) -> int:
        """Number of pixels, ``H * W``."""
        return self.height * self.width

    @property
    def cluster_ids(self) -> np.ndarray:
        """Sorted unique cluster ids (labels >= 0)."""
        if "ids" not in self._cache:
            self._cache["ids"] = self._unique_ids()
        return self._cache["ids"].copy()

    @property
    def n_clusters(self) -> int:
        """Number of clusters (noise excluded)."""
        return len(self.cluster_ids)

    def _positions(self) -> np.ndarray:
        """Row of each pixel in the per-cluster arrays, -1 for noise (flat, cached)."""
        if "pos" not in self._cache:
            ids = self.cluster_ids
            flat = self._labels.ravel()
            pos = np.searchsorted(ids, flat)
            pos[flat < 0] = -1
            self._cache["pos"] = pos
        return self._cache["pos"]

    @property
    def counts(self) -> np.ndarray:
        """Pixels per cluster, aligned with ``cluster_ids``."""
        if "counts" not in self._cache:
            pos = self._positions()
            self._cache["counts"] = np.bincount(pos[pos >= 0], minlength=self.n_clusters)
        return self._cache["counts"].copy()

    @property
    def noise_count(self) -> int:
        """Number of noise (-1) pixels."""
        return int((self._labels == -1).sum())

    def _group_means(self, values: np.ndarray) -> np.ndarray:
        pos = self._positions()
        keep = pos >= 0
        k = self.n_clusters
        vals = values.reshape(self.n_pixels, -1)[keep]
        p = pos[keep]
        out = np.empty((k, vals.shape[1]), dtype=np.float64)
        cnt = np.maximum(np.bincount(p, minlength=k), 1)
        for j in range(vals.shape[1]):
            out[:, j] = np.bincount(p, weights=vals[:, j], minlength=k) / cnt
        return out

    @property
    def mu(self) -> np.ndarray:
        """Mean latent point per cluster, shape (K, d), aligned with ``cluster_ids``."""
        if "mu" not in self._cache:
            self._cache["mu"] = self._group_means(np.asarray(self.latent, dtype=np.float64))
        return self._cache["mu"].copy()

    @property
    def feature_means(self) -> np.ndarray:
        """Mean normalised feature vector per cluster, shape (K, F)."""
        self._require_dataset("feature_means")
        if "feat" not in self._cache:
            data = np.asarray(self.dataset.normalised_elemental_data, dtype=np.float64)
            self._cache["feat"] = self._group_means(data)
        return self._cache["feat"].copy()

    @property
    def prob_map(self) -> np.ndarray | None:
        """(H, W, K_fit) cluster probabilities (column = cluster id), or None."""
        if self._proba is None or not self._prob_valid:
            return None
        if "prob" not in self._cache:
            onehot = np.zeros((self._n_fit, self._n_fit), dtype=np.float32)
            onehot[np.arange(self._n_fit), self._component_map] = 1.0
            self._cache["prob"] = (self._proba @ onehot).reshape(self.height, self.width, -1)
        return self._cache["prob"].copy()

    @property
    def membership(self) -> np.ndarray | None:
        """(H, W) HDBSCAN membership strength, or None."""
        if self._membership is None or not self._prob_valid:
            return None
        return self._membership.reshape(self.height, self.width).copy()

    @property
    def color_list(self) -> list[str]:
        """Colours aligned with ``cluster_ids``."""
        return [self.colors[int(i)] for i in self.cluster_ids]

    @property
    def edit_history(self) -> list[tuple[str, dict]]:
        """``(operation, arguments)`` of the edits on the undo stack, oldest first."""
        return [(r["op"], dict(r["args"])) for r in self._undo]

    def cluster_mask(self, cluster_id: int) -> np.ndarray:
        """(H, W) bool mask of one cluster."""
        cid = self._check_ids([cluster_id], "cluster_id")[0]
        return self._labels == cid

    def copy(self) -> PixelSegmenter:
        """An independent copy (labels, colours, undo stack) sharing the dataset and model."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._labels = self._labels.copy()
        new.colors = dict(self.colors)
        new._colors_original = dict(self._colors_original)
        new._undo = [dict(r) for r in self._undo]
        if self._component_map is not None:
            new._component_map = self._component_map.copy()
        new._cache = {}
        return new

    # ------------------------------------------------------------------ edits
    def _check_ids(self, ids, name="ids", allow_noise=False) -> list[int]:
        if isinstance(ids, int | np.integer) and not isinstance(ids, bool):
            ids = [ids]
        try:
            ids = [int(i) for i in ids]
        except (TypeError, ValueError):
            raise bad_value(name, ids, "a cluster id or a list of cluster ids") from None
        known = set(self.cluster_ids.tolist())
        if allow_noise:
            known.add(-1)
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise bad_value(
                name, unknown if len(unknown) > 1 else unknown[0],
                f"existing cluster id(s) {sorted(known)}",
            )  # fmt: skip
        return list(dict.fromkeys(ids))

    def _commit(self, op, args, idx, new_values, colors, component_map=None, valid=None):
        record = {
            "op": op,
            "args": args,
            "idx": np.asarray(idx, dtype=np.int64),
            "old": self._labels.ravel()[idx].copy(),
            "colors": dict(self.colors),
            "map": None if self._component_map is None else self._component_map.copy(),
            "valid": self._prob_valid,
        }
        self._labels.ravel()[idx] = new_values
        self.colors = colors
        if component_map is not None:
            self._component_map = component_map
        if valid is not None:
            self._prob_valid = valid
        self._undo.append(record)
        self._invalidate(labels_changed=record["idx"].size > 0 or op == "reset")

    def _invalidate(self, labels_changed=True):
        if labels_changed:
            self._cache.clear()
        else:
            self._cache.pop("prob", None)

    def _prune_colors(self, colors: dict) -> dict:
        ids = set(self._unique_ids().tolist())
        return {k: v for k, v in colors.items() if k in ids or k == -1}

    def merge_clusters(self, ids) -> None:
        """Merge clusters into the smallest of their ids.

        The target keeps its id and colour; the other ids disappear. ``-1`` (noise) is never
        merged and is ignored if present. Probability columns of merged components are
        summed into the target's column.

        Parameters
        ----------
        ids : list of int
            At least two existing cluster ids.
        """
        ids = [i for i in self._check_ids(ids, "ids", allow_noise=True) if i != -1]
        if len(ids) < 2:
            raise bad_value("ids", ids, "at least two distinct cluster ids other than -1")
        target, others = min(ids), sorted(set(ids) - {min(ids)})
        idx = np.flatnonzero(np.isin(self._labels.ravel(), others))
        colors = {k: v for k, v in self.colors.items() if k not in others}
        cmap = None
        if self._component_map is not None:
            cmap = self._component_map.copy()
            cmap[np.isin(cmap, others)] = target
        self._commit("merge_clusters", {"ids": sorted(ids), "target": target}, idx, target,
                     colors, cmap)  # fmt: skip

    def create_cluster(self, pixels, include_noise: bool = True) -> None:
        """Put the given pixels into a new cluster with id ``max(cluster_ids) + 1``.

        Parameters
        ----------
        pixels : array_like
            A boolean mask of shape (H, W) or (N,), or flat pixel indices (ints in [0, N)).
        include_noise : bool
            If False ("Exclude -1"), noise pixels in the selection keep label -1.

        Notes
        -----
        ``prob_map`` and ``membership`` become ``None`` (see the class docstring) until the
        edit is undone or the clustering reset. Clusters emptied by the move disappear.
        """
        self._create(pixels, include_noise, "create_cluster")

    def _create(self, pixels, include_noise, op, extra_args=None):
        n = self.n_pixels
        arr = np.asarray(pixels)
        if arr.dtype == bool:
            if arr.shape not in ((self.height, self.width), (n,)):
                raise bad_value(
                    "pixels", f"bool mask of shape {arr.shape}",
                    f"a mask of shape {(self.height, self.width)} or ({n},), or flat indices",
                )  # fmt: skip
            mask = arr.ravel().copy()
        elif arr.size == 0 or np.issubdtype(arr.dtype, np.integer):
            flat = arr.astype(np.int64).ravel()
            if flat.size and (flat.min() < 0 or flat.max() >= n):
                raise bad_value(
                    "pixels", f"indices in [{flat.min()}, {flat.max()}]", f"indices in [0, {n})"
                )
            mask = np.zeros(n, dtype=bool)
            mask[flat] = True
        else:
            raise bad_value("pixels", arr.dtype, "a boolean mask or integer pixel indices")
        if not include_noise:
            mask &= self._labels.ravel() != -1
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            raise bad_value(
                "pixels", "an empty selection",
                "at least one pixel" + ("" if include_noise else " that is not noise (-1)"),
            )  # fmt: skip
        ids = self.cluster_ids
        new_id = int(ids.max()) + 1 if ids.size else 0
        colors = dict(self.colors)
        colors.pop(new_id, None)
        used = [c for k, c in colors.items() if k != -1]
        # keep colours of clusters that survive; emptied ones drop out below
        lab_after = self._labels.ravel().copy()
        lab_after[idx] = new_id
        surviving = set(np.unique(lab_after[lab_after >= 0]).tolist())
        colors = {k: v for k, v in colors.items() if k in surviving or k == -1}
        colors[new_id] = next_free_color(used + [NOISE_COLOR])
        args = {"n_pixels": int(idx.size), "include_noise": bool(include_noise), "new_id": new_id}
        args.update(extra_args or {})
        self._commit(op, args, idx, new_id, colors, valid=False)

    def create_cluster_from_latent_region(
        self, region, include_noise: bool = True, *, dims=(0, 1)
    ) -> None:
        """New cluster of ALL pixels whose latent point lies in a region (not a subsample).

        Parameters
        ----------
        region : array_like
            Polygon vertices of shape (V, 2), V >= 3 (e.g. a lasso path), or a box
            ``(xmin, ymin, xmax, ymax)``.
        include_noise : bool
            As in :meth:`create_cluster`.
        dims : pair of int
            Latent dimensions the region is drawn in.
        """
        lat = np.asarray(self.latent)
        try:
            d0, d1 = (int(d) for d in dims)
            pts = lat[:, [d0, d1]]
        except (TypeError, ValueError, IndexError):
            raise bad_value("dims", dims, f"two latent dimensions in [0, {lat.shape[1]})") from None
        inside = points_in_region(pts, region)
        reg = np.asarray(region, dtype=float)
        self._create(inside, include_noise, "create_cluster_from_latent_region",
                     {"region": reg.tolist(), "dims": [d0, d1]})  # fmt: skip

    def recolour(self, ids, color) -> None:
        """Set the display colour of clusters (labels unchanged; -1 allowed).

        Parameters
        ----------
        ids : int or list of int
        color : str or tuple
            ``'#rrggbb'``, ``'#rgb'`` or an RGB tuple.
        """
        ids = self._check_ids(ids, "ids", allow_noise=True)
        hexc = normalise_color(color)
        colors = dict(self.colors)
        for i in ids:
            colors[i] = hexc
        self._commit("recolour", {"ids": ids, "color": hexc}, np.empty(0, np.int64), 0, colors)

    def reset(self) -> None:
        """Return to the fitted clustering and its colours (itself undoable)."""
        idx = np.flatnonzero(self._labels.ravel() != self._labels_original.ravel())
        new = self._labels_original.ravel()[idx]
        cmap = None if self._component_map_original is None else self._component_map_original.copy()
        self._commit("reset", {}, idx, new, dict(self._colors_original), cmap, valid=True)

    def undo(self) -> None:
        """Undo the last edit (no-op with a log message when there is none)."""
        if not self._undo:
            logger.info("nothing to undo")
            return
        rec = self._undo.pop()
        self._labels.ravel()[rec["idx"]] = rec["old"]
        self.colors = dict(rec["colors"])
        self._component_map = None if rec["map"] is None else rec["map"].copy()
        self._prob_valid = rec["valid"]
        self._invalidate(labels_changed=True)

    @property
    def can_undo(self) -> bool:
        """Whether there is an edit to undo."""
        return bool(self._undo)

    # ------------------------------------------------------------------ spectra, NMF
    def _require_dataset(self, what):
        if self.dataset is None:
            raise bad_value(
                "dataset", None, f"a dataset for {what} (pass dataset= to from_saved_state)"
            )

    def _spectra_data(self):
        self._require_dataset("spectra")
        data = self.dataset.analysis_spectra.data
        if data.ndim != 3 or tuple(data.shape[:2]) != (self.height, self.width):
            raise bad_value(
                "dataset.analysis_spectra",
                f"data of shape {tuple(data.shape)}",
                f"(H, W, C) spectra on the clustering grid {(self.height, self.width)}",
            )
        return data

    @property
    def energy_axis(self) -> np.ndarray:
        """(C,) energies in keV of the dataset's analysis spectra."""
        self._require_dataset("energy_axis")
        return np.asarray(self.dataset.energy_axis)

    def get_cluster_spectra(self, kind: str = "sum", *, progress: bool | None = None) -> np.ndarray:
        """Sum or mean spectrum per cluster, shape (K, C), aligned with ``cluster_ids``.

        Computed in one vectorised pass over the spectrum cube and cached until the labels
        change.

        Parameters
        ----------
        kind : {'sum', 'mean'}
        progress : bool or None
            Show a tqdm bar (useful for lazy cubes); ``None`` follows ``SIGMA_PROGRESS``.
        """
        from sigma._progress import progress_enabled
        from sigma.unmixing.spectra import cluster_spectra

        progress = progress_enabled() if progress is None else progress
        if kind not in ("sum", "mean"):
            raise bad_value("kind", kind, "'sum' or 'mean'")
        key = ("spectra", kind)
        if key not in self._cache:
            if kind == "mean" and ("spectra", "sum") in self._cache:
                s = self._cache[("spectra", "sum")] / np.maximum(self.counts, 1)[:, None]
            else:
                s = cluster_spectra(self._spectra_data(), self._labels, self.cluster_ids, kind,
                                    progress=progress)  # fmt: skip
            s.flags.writeable = False
            self._cache[key] = s
        return self._cache[key]

    def _nmf_input(self, clusters, normalised, spectra_kind):
        if isinstance(clusters, str):
            if clusters != "All":
                raise bad_value(
                    "clusters_to_be_calculated", clusters, "'All' or a list of cluster ids"
                )
            ids = self.cluster_ids.tolist()
        else:
            ids = self._check_ids(clusters, "clusters_to_be_calculated")
        if not ids:
            raise bad_value(
                "clusters_to_be_calculated", clusters, "a non-empty selection of cluster ids"
            )
        all_ids = self.cluster_ids
        x = np.asarray(self.get_cluster_spectra(spectra_kind))[np.searchsorted(all_ids, ids)]
        if normalised:
            x = x / np.where(x.max(axis=1, keepdims=True) > 0, x.max(axis=1, keepdims=True), 1)
        return np.asarray(ids), x

    def _store_nmf(self, ids, weights, components, model):
        self.nmf_cluster_ids = np.asarray(ids)
        self.nmf_weights, self.nmf_components, self.nmf_model = weights, components, model
        self.weights_index = [f"cluster_{i}" for i in ids]
        self.weights_columns = [f"w_{j}" for j in range(components.shape[0])]
        self.nmf_reconstruction_error = getattr(model, "reconstruction_err_", None)

    def get_unmixed_spectra_profile(
        self,
        clusters_to_be_calculated="All",
        n_components="All",
        normalised: bool = False,
        method="NMF",
        method_args=None,
        *,
        spectra_kind: str = "mean",
    ):
        """Unmix cluster spectra into end-member spectra with NMF.

        ``X`` (one row per selected cluster, ``spectra_kind`` spectra, optionally each row
        divided by its maximum) is factorised as ``X ~= weights @ components``.

        Parameters
        ----------
        clusters_to_be_calculated : 'All' or list of int
        n_components : 'All' or int
            'All' means the number of selected clusters; at most that many.
        normalised : bool
            Divide each cluster spectrum by its maximum first.
        method : 'NMF' or estimator
        method_args : dict, optional
            E.g. ``{'init': 'nndsvd'}``.
        spectra_kind : {'mean', 'sum'}
            Mean spectra (default) make weights independent of cluster size.

        Returns
        -------
        weights : ndarray, shape (K_selected, n_components)
            Rows labelled by ``ps.weights_index`` (``'cluster_<id>'``, ids in
            ``ps.nmf_cluster_ids``), columns by ``ps.weights_columns`` (``'w_<j>'``).
        components : ndarray, shape (n_components, C)
            One end-member spectrum per row, on ``ps.energy_axis``.
        """
        from sigma.unmixing.nmf import unmix_spectra

        ids, x = self._nmf_input(clusters_to_be_calculated, normalised, spectra_kind)
        weights, components, model = unmix_spectra(
            x, n_components, method=method, method_args=method_args
        )
        self._store_nmf(ids, weights, components, model)
        return weights, components

    def get_unmixed_spectra_profile_init_guess(
        self,
        clusters_to_be_calculated="All",
        n_components="All",
        normalised: bool = False,
        method="NMF",
        method_args=None,
        seed_clusters=None,
        *,
        seed_spectra=None,
        spectra_kind: str = "mean",
    ):
        """NMF started from the spectra of chosen clusters.

        The first end-members start as the spectra of ``seed_clusters`` (then rows of
        ``seed_spectra``), prepared exactly like the NMF input; any remaining ones come from
        the ``init`` method in ``method_args`` (default ``'nndsvda'``), picking the
        candidates least similar to the seeds. The fit then uses ``init='custom'``.
        Without seeds this equals :meth:`get_unmixed_spectra_profile`.

        Parameters
        ----------
        seed_clusters : list of int, optional
            Existing cluster ids (they need not be in the selection).
        seed_spectra : array_like, shape (S, C), optional
            Extra seed end-members given directly.

        Returns
        -------
        weights, components
            As in :meth:`get_unmixed_spectra_profile`.
        """
        from sklearn.decomposition import NMF

        from sigma.unmixing.nmf import _check_k, seeded_initialisation

        if method != "NMF":
            raise bad_value("method", method, "'NMF' (a seeded start needs init='custom')")
        args = dict(method_args or {})
        fill = args.pop("init", None) or "nndsvda"
        if fill == "custom":
            fill = "nndsvda"
        seeds = []
        if seed_clusters is not None:
            seed_ids = self._check_ids(seed_clusters, "seed_clusters")
            _, sx = self._nmf_input(seed_ids, normalised, spectra_kind)
            seeds.append(sx)
        if seed_spectra is not None:
            seeds.append(np.atleast_2d(np.asarray(seed_spectra, dtype=np.float64)))
        if not seeds:
            return self.get_unmixed_spectra_profile(
                clusters_to_be_calculated, n_components, normalised, method,
                {**args, "init": fill}, spectra_kind=spectra_kind,
            )  # fmt: skip
        ids, x = self._nmf_input(clusters_to_be_calculated, normalised, spectra_kind)
        k = _check_k(n_components, x)
        w0, h0 = seeded_initialisation(
            x, np.vstack(seeds), k, init=fill, random_state=args.get("random_state")
        )
        args.setdefault("max_iter", 1000)
        try:
            model = NMF(n_components=k, init="custom", **args)
        except TypeError as exc:
            raise bad_value(
                "method_args", method_args, f"keyword arguments of NMF ({exc})"
            ) from None
        weights = model.fit_transform(x, W=w0, H=h0)
        components = np.asarray(model.components_, dtype=np.float64)
        self._store_nmf(ids, np.asarray(weights, dtype=np.float64), components, model)
        return self.nmf_weights, components

    def abundance_maps(self, components=None, *, progress: bool | None = None) -> np.ndarray:
        """Per-pixel non-negative least-squares abundances, shape (H, W, n_components).

        Each pixel's spectrum ``s`` is fitted as ``a @ components`` with ``a >= 0`` (not a
        constant per cluster). Vectorised over all pixels.

        Parameters
        ----------
        components : array_like, shape (n_components, C), optional
            Default: the components of the last NMF.
        progress : bool or None
            tqdm bar; ``None`` follows ``SIGMA_PROGRESS``.
        """
        from sigma._progress import progress_enabled
        from sigma.unmixing.nmf import nnls_abundances

        progress = progress_enabled() if progress is None else progress
        if components is None:
            if self.nmf_components is None:
                raise bad_value(
                    "components", None,
                    "end-member spectra, or run get_unmixed_spectra_profile first",
                )  # fmt: skip
            components = self.nmf_components
        return nnls_abundances(self._spectra_data(), components, progress=progress)

    def phase_proportions(self, exclude_noise: bool = True) -> np.ndarray:
        """Area fraction of each cluster, aligned with ``cluster_ids``.

        Parameters
        ----------
        exclude_noise : bool
            Fractions of the non-noise pixels (sum to 1) if True, of all pixels otherwise.
        """
        total = self.n_pixels - (self.noise_count if exclude_noise else 0)
        return self.counts / max(total, 1)

    # ------------------------------------------------------------------ export
    def export_cluster_masks(self, output_dir="cluster_masks", high_res_path=None) -> list[Path]:
        """Write one ``cluster_<id>.tiff`` (uint8 0/255) per cluster.

        Parameters
        ----------
        output_dir : path
        high_res_path : path, optional
            An image (.tif/.tiff read with tifffile, others with Pillow) whose size the masks
            are upscaled to by nearest-neighbour index mapping: each high-resolution pixel
            takes the label of the map pixel containing its centre, so masks neither shrink
            nor shift. Without it, masks have the clustering grid's size.

        Returns
        -------
        list of Path
        """
        shape = None if high_res_path is None else read_image_shape(high_res_path)
        return write_cluster_masks(self._labels, self.cluster_ids, output_dir, shape)

    # ------------------------------------------------------------------ state files
    def save_state(self, path) -> Path:
        """Save labels, edits, colours and probabilities to a safe state file.

        The file is an ``.npz`` archive with a JSON header (see :mod:`sigma.clustering.state`)
        whatever its extension, written atomically. It never contains pickled objects; the
        fitted model is not saved.
        """
        undo = self._undo
        offsets = np.cumsum([0] + [r["idx"].size for r in undo]).astype(np.int64)
        arrays = {
            "latent": np.asarray(self.latent),
            "labels": self._labels,
            "labels_original": np.asarray(self._labels_original),
            "undo_idx": np.concatenate([r["idx"] for r in undo] or [np.empty(0, np.int64)]),
            "undo_old": np.concatenate([r["old"] for r in undo] or [np.empty(0, np.int32)]),
            "undo_offsets": offsets,
        }
        if self._proba is not None:
            arrays["proba_original"] = self._proba
            arrays["component_map"] = self._component_map
            arrays["component_map_original"] = self._component_map_original
            arrays["undo_maps"] = (
                np.stack([r["map"] for r in undo]) if undo else np.empty((0, self._n_fit), np.int32)
            )
        if self._membership is not None:
            arrays["membership"] = self._membership
        ds_info = None
        if self.dataset is not None:
            h, w, f = _nav_shape(self.dataset)
            ds_info = {
                "shape": [h, w, f],
                "feature_list": [str(s) for s in getattr(self.dataset, "feature_list", [])],
            }
        elif getattr(self, "_saved_dataset_info", None):
            ds_info = self._saved_dataset_info
        meta = {
            "method": self._method_name(),
            "method_is_custom": not isinstance(self.method, str),
            "method_args": _jsonable(self.method_args),
            "max_fit_samples": self.max_fit_samples,
            "random_state": _jsonable(self.random_state),
            "refine": self.refine,
            "refine_args": _jsonable(self.refine_args),
            "shape": [self.height, self.width],
            "dataset": ds_info,
            "n_components_fit": self._n_fit,
            "colors": {str(k): v for k, v in self.colors.items()},
            "colors_original": {str(k): v for k, v in self._colors_original.items()},
            "prob_valid": self._prob_valid,
            "undo": [
                {
                    "op": r["op"],
                    "args": _jsonable(r["args"]),
                    "colors": {str(k): v for k, v in r["colors"].items()},
                    "valid": r["valid"],
                }
                for r in undo
            ],
        }
        return write_state(path, arrays, meta)

    @classmethod
    def from_saved_state(cls, path, dataset=None) -> PixelSegmenter:
        """Rebuild a PixelSegmenter from :meth:`save_state`'s file.

        Parameters
        ----------
        path : path
        dataset : dataset, optional
            Must have the saved grid shape and feature list (checked). Without it, labels,
            colours and edits work but spectra and NMF do not.

        Notes
        -----
        ``model`` is ``None`` after loading (the fitted estimator is not stored). Pickle
        files from the original SIGMA are refused.
        """
        arrays, meta = read_state(path)
        try:
            h, w = (int(v) for v in meta["shape"])
            labels = arrays["labels"].astype(np.int32)
            latent = arrays["latent"]
            if labels.shape != (h, w) or len(latent) != h * w:
                raise KeyError("shape")
            ds_info = meta.get("dataset")
            if dataset is not None:
                dh, dw, df = _nav_shape(dataset)
                feats = [str(s) for s in getattr(dataset, "feature_list", [])]
                if ds_info is not None and (
                    [dh, dw, df] != list(ds_info["shape"]) or feats != list(ds_info["feature_list"])
                ):
                    raise bad_value(
                        "dataset",
                        f"shape {(dh, dw, df)} with features {feats}",
                        f"the dataset the state in '{path}' was saved with: shape "
                        f"{tuple(ds_info['shape'])} with features {ds_info['feature_list']}",
                    )
                if (dh, dw) != (h, w):
                    raise bad_value(
                        "dataset", f"grid {(dh, dw)}", f"the saved grid {(h, w)} of '{path}'"
                    )
            self = cls.__new__(cls)
            self.dataset = dataset
            self.method = meta["method"]
            self.method_args = dict(meta.get("method_args") or {})
            self.model = None
            self.max_fit_samples = meta.get("max_fit_samples")
            self.random_state = meta.get("random_state")
            self.refine = meta.get("refine")  # files written before refine existed: None
            self.refine_args = dict(meta.get("refine_args") or {})
            self._saved_dataset_info = ds_info
            proba = arrays.get("proba_original")
            self._setup(latent, h, w, arrays["labels_original"], proba, arrays.get("membership"))
            self._labels = labels.copy()
            self._n_fit = int(meta["n_components_fit"])
            if proba is not None:
                self._component_map = arrays["component_map"].astype(np.int32)
                self._component_map_original = arrays["component_map_original"].astype(np.int32)
            self._prob_valid = bool(meta["prob_valid"])
            self.colors = {int(k): v for k, v in meta["colors"].items()}
            self._colors_original = {int(k): v for k, v in meta["colors_original"].items()}
            off = arrays["undo_offsets"]
            recs = meta["undo"]
            if len(off) != len(recs) + 1:
                raise KeyError("undo")
            for i, r in enumerate(recs):
                self._undo.append(
                    {
                        "op": r["op"],
                        "args": r["args"],
                        "idx": arrays["undo_idx"][off[i] : off[i + 1]].astype(np.int64),
                        "old": arrays["undo_old"][off[i] : off[i + 1]].astype(np.int32),
                        "colors": {int(k): v for k, v in r["colors"].items()},
                        "map": None if proba is None else arrays["undo_maps"][i].astype(np.int32),
                        "valid": bool(r["valid"]),
                    }
                )
        except SigmaError:
            raise
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise bad_file(
                path, f"is an inconsistent or incomplete state file ({exc!r})",
                f"a complete version-{FORMAT_VERSION} state written by save_state",
            ) from None  # fmt: skip
        self._cache = {}
        return self

    def __repr__(self) -> str:
        return (
            f"PixelSegmenter(method={self._method_name()!r}, shape={(self.height, self.width)}, "
            f"n_clusters={self.n_clusters}, noise={self.noise_count}, edits={len(self._undo)})"
        )
