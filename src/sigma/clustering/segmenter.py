"""PixelSegmenter: clusters of latent points as a phase map, with undoable edits.

State has one shape and one owner. ``labels`` is always an ``(H, W)`` int array with ``-1``
for noise, and it is read-only from outside: every change goes through an edit method
(:meth:`~PixelSegmenter.merge_clusters`, :meth:`~PixelSegmenter.create_cluster`,
:meth:`~PixelSegmenter.create_cluster_from_latent_region`, :meth:`~PixelSegmenter.recolour`,
:meth:`~PixelSegmenter.reset`), which records it on an undo stack and keeps every derived
quantity (``cluster_ids``, ``counts``, ``mu``, ``colors``, ``prob_map``, cached spectra)
consistent with the labels. Cluster ids are never renumbered. Views follow the edits through
:meth:`~PixelSegmenter.observe` (one :class:`~sigma.clustering._observers.Change` per edit).
"""

from __future__ import annotations

import logging
import weakref
from typing import Self

import numpy as np

from sigma._errors import bad_value
from sigma.clustering._dataset import (
    feature_snapshot,
    grid_geometry,
    input_fingerprint,
    nav_shape,
    valid_pixels,
)
from sigma.clustering._edits import EditsMixin
from sigma.clustering._fitting import FitMixin, first_fit
from sigma.clustering._identify import IdentifyMixin
from sigma.clustering._persist import StateMixin
from sigma.clustering._unmixing import SpectraMixin
from sigma.clustering._views import ViewsMixin
from sigma.clustering.palette import NOISE_COLOR, cluster_palette
from sigma.clustering.state import InvalidState, check_labels, check_membership, check_proba

__all__ = ["PixelSegmenter"]

logger = logging.getLogger(__name__)


class PixelSegmenter(ViewsMixin, FitMixin, EditsMixin, SpectraMixin, IdentifyMixin, StateMixin):
    """Cluster the latent points of every pixel and edit the resulting phase map.

    Parameters
    ----------
    latent : array_like, shape (N, d)
        One latent point per pixel, in the row-major order of
        ``dataset.normalised_elemental_data.reshape(-1, F)``; ``N = H * W``.
    dataset : SEMDataset, TEMDataset or similar
        Must provide ``normalised_elemental_data`` (H, W, F). Spectral methods also use
        ``analysis_spectra`` (signal whose ``.data`` is (H, W, C), numpy or dask),
        ``energy_axis`` (C,) and ``feature_list``. Read once, when the segmenter is made:
        the features (kept as :attr:`features`), ``bin_size`` and the full-resolution
        ``spectra`` shape (for masks: :attr:`original_shape`) and a fingerprint of
        ``file_path`` and the counts (recorded in state files).
    method : str or estimator
        ``'GaussianMixture'``, ``'BayesianGaussianMixture'``, ``'Kmeans'``, ``'Birch'``,
        ``'HDBSCAN'`` (scikit-learn's) or any object with ``fit_predict``.
    method_args : dict, optional
        Keyword arguments of that scikit-learn class, e.g.
        ``{'n_components': 50, 'random_state': 0, 'init_params': 'kmeans'}``. For
        ``'GaussianMixture'``, ``'BayesianGaussianMixture'`` and ``'Kmeans'``,
        ``n_components='auto'`` (or ``n_clusters='auto'``) decides the number of phases from
        the counts (:func:`sigma.clustering.auto_k.find_phases`): the method over-segments
        the latent space into ``auto_args['max_components']`` clusters, which are merged,
        cleared of boundary mixtures and completed with phases no cluster explains, using the
        dataset's ``analysis_spectra`` counts; the labels come with a neighbour prior (as
        ``refine='spectra'``). The evidence is in :attr:`n_components_evidence`.
    max_fit_samples : int or None, keyword-only
        HDBSCAN is fitted on a random sample of at most this many points and the others are
        assigned to their nearest sampled neighbour (or -1), so its cost stays near linear.
        With ``'auto'``, the over-segmentation is fitted on such a sample and predicts the
        other points (its clusters only seed the count model, which labels every pixel).
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
    auto_args : dict, optional, keyword-only
        With ``n_components='auto'``: ``max_components`` (default 20), ``smoothness`` (Potts
        weight; ``refine_args['smoothness']`` or 1), ``n_bands`` (64), ``max_fit_pixels``
        (20000), ``intensity`` (count-rate weight, 0.3 on TEM, 0 on SEM), ``boundary``
        (-1 on SEM, 0 on TEM; :func:`~sigma.clustering.auto_k.boundary_exponent`),
        ``enclosed`` and ``on_film`` (the least share of its counts with which a core takes a
        boundary pixel from its shell, and a particle from the film: 0.15 and 0.4 on TEM,
        ``None`` on SEM; :func:`~sigma.clustering.auto_k.enclosed_share`).

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
        Mean normalised feature vector per cluster, of the features the clustering was fitted
        on (:attr:`features`).
    features : ndarray of float32, shape (H, W, F)
        Read-only snapshot of ``dataset.normalised_elemental_data`` taken when the segmenter
        was made: re-binning or re-normalising the dataset later does not change it (a
        warning says when the dataset's features no longer match). ``None`` after
        :meth:`from_saved_state` without a dataset.
    feature_list : list of str
        Names of the features' columns.
    original_shape : tuple of int
        ``(H0, W0)``: the scanned map before binning (from the dataset: ``original_shape``,
        else its full-resolution spectra or navigation image).
    bin_size : tuple of int
        ``(by, bx)``: the dataset's ``bin_size``. With ``original_shape`` it places every
        label on its scanned pixels (cluster masks, :func:`~sigma.clustering.upscale_labels`).
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
    n_components_evidence : PhaseEvidence or None
        With ``n_components='auto'``: how the number of phases was decided (the BIC along the
        merge path, every dropped mixture and new phase with its statistics;
        ``.summary()``, ``.to_dict()``). ``None`` for a fixed number.
    model : estimator or None
        The fitted estimator; ``None`` with ``n_components='auto'``, whose phases are not
        components of a latent-space model (the over-segmentation's estimator is
        ``start_model``). Not stored in state files: ``None`` after
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

    #: The over-segmentation's estimator with ``n_components='auto'`` (else ``None``).
    start_model = None

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
        auto_args=None,
    ):
        from sigma.clustering.auto_k import auto_request

        h, w, _ = nav_shape(dataset)
        if refine not in (None, "spectra"):
            raise bad_value("refine", refine, "None or 'spectra'")
        if refine_args is not None and not isinstance(refine_args, dict):
            raise bad_value("refine_args", refine_args, "a dict or None")
        latent = _check_latent(latent, h, w)
        auto_key = auto_request(method, method_args)
        if auto_args is not None and not isinstance(auto_args, dict):
            raise bad_value("auto_args", auto_args, "a dict or None")
        self._bind_dataset(dataset)
        keep = None if self._valid is None else self._valid.ravel()
        if keep is not None and not keep.any():
            raise bad_value("dataset", "no valid pixel",
                            "a map with pixels that were scanned, are finite and hold counts")
        fit_args = method_args
        if auto_key is not None:
            fit_args = dict(method_args)
            n_fit = len(latent) if keep is None else int(keep.sum())
            fit_args[auto_key] = self._auto_start_size(auto_args, n_fit)
        fit = first_fit(latent, keep, method, fit_args, max_fit_samples=max_fit_samples,
                        random_state=random_state, sample=auto_key is not None)
        self.method = method
        self.method_args = dict(method_args or {})
        # with 'auto' the phases are not components of the latent-space model: no model to
        # draw or predict with (the over-segmentation's estimator stays as start_model)
        self.model = None if auto_key is not None else fit.model
        self.start_model = fit.model if auto_key is not None else None
        self.max_fit_samples = max_fit_samples
        self.random_state = random_state
        self.refine = refine
        self.refine_args = dict(refine_args or {})
        self.auto_args = dict(auto_args or {})
        labels, proba, membership = fit.labels, fit.proba, fit.membership
        evidence = None
        if auto_key is not None:
            labels, proba, evidence = self._auto_phases(labels, h, w)
            membership = None
        elif refine == "spectra":
            labels, proba, membership = self._refined(labels, proba, h, w)
        self._setup(latent, h, w, labels, proba, membership)
        self.n_components_evidence = evidence
        logger.info(
            "%s: %d clusters, %d noise pixels", self._method_name(), self.n_clusters,
            int((self._labels == -1).sum()),
        )  # fmt: skip

    @classmethod
    def from_labels(
        cls,
        latent,
        dataset,
        labels,
        *,
        proba=None,
        membership=None,
        features=None,
        feature_list=None,
        method: str = "precomputed",
        method_args=None,
        model=None,
    ) -> Self:
        """A segmenter for labels computed elsewhere, with every edit, view and export.

        For a clustering fitted on other points and applied to these (``--shared-phases``:
        :func:`~sigma.clustering.fit_clusters` on a sample, then
        :func:`~sigma.clustering.predict_clusters`), or labels from another tool.

        Parameters
        ----------
        latent : array_like, shape (N, d)
            One finite point per pixel.
        dataset : dataset or None
            As for the constructor (spectra, NMF, masks); ``None`` gives labels, edits and
            colours only.
        labels : array_like of int, shape (H, W) or (N,)
            ``-1`` for noise, cluster ids ``>= 0``.
        proba : array_like, shape (N, K) or (H, W, K), optional
            Probability of each cluster id (column = id), finite in [0, 1].
        membership : array_like, shape (N,) or (H, W), optional
            HDBSCAN-style membership strength in [0, 1].
        features : array_like, shape (H, W, F), optional
            The features the labels describe; default the dataset's
            ``normalised_elemental_data``. The dataset is not modified.
        feature_list : list of str, optional
            Their names; default the dataset's ``feature_list``.
        method : str
            How the labels were made (recorded in state files and reports).
        method_args : dict, optional
        model : object, optional
            The fitted estimator, kept as :attr:`model` (never saved).

        Examples
        --------
        >>> import numpy as np
        >>> feats = np.zeros((2, 3, 1), np.float32)
        >>> ps = PixelSegmenter.from_labels(np.zeros((6, 2)), None, [[0, 0, 1], [1, 1, -1]],
        ...                                 features=feats, feature_list=["Fe_Ka"])
        >>> ps.cluster_ids.tolist(), ps.counts.tolist(), ps.noise_count
        ([0, 1], [2, 3], 1)
        """
        if not isinstance(method, str):
            raise bad_value("method", method, "a name (str) for how the labels were made")
        self = cls.__new__(cls)
        self._bind_dataset(dataset, features, feature_list)
        if self._features is not None:
            h, w = self._features.shape[:2]
        else:
            shape = np.shape(labels)
            if len(shape) != 2:
                raise bad_value("labels", shape, "(H, W) labels, or pass features= or a dataset")
            h, w = shape
        n = h * w
        latent = _check_latent(latent, h, w)
        try:
            lab = np.asarray(labels)
            lab = check_labels(lab.reshape(h, w) if lab.size == n else lab, (h, w))
            if proba is not None:
                proba = np.asarray(proba)
                proba = check_proba(proba.reshape(n, -1) if proba.ndim == 3 else proba, n)
                if lab.max(initial=-1) >= proba.shape[1]:
                    raise InvalidState("proba", f"has {proba.shape[1]} columns for cluster id "
                                                f"{int(lab.max())} (column = id)")  # fmt: skip
            if membership is not None:
                membership = check_membership(np.asarray(membership).ravel(), n)
        except InvalidState as exc:
            raise bad_value(exc.key, exc.problem, "valid for these labels") from None
        self.method = method
        self.method_args = dict(method_args or {})
        self.model = model
        self.max_fit_samples = self.random_state = None
        self.refine, self.refine_args = None, {}
        self._setup(latent, h, w, lab, proba, membership)
        return self

    def _bind_dataset(self, dataset, features=None, feature_list=None):
        """Take what the segmenter needs from its dataset, once: a snapshot of the features,
        the scanned map's geometry and the input's fingerprint."""
        self.dataset = dataset
        source = None
        if features is not None:
            feats = np.array(features, dtype=np.float32, copy=True)
            if feats.ndim != 3:
                raise bad_value("features", feats.shape, "an (H, W, F) array")
            if not np.isfinite(feats).all():
                raise bad_value("features", "an array with NaN or inf", "finite features")
            names = list(feature_list) if feature_list is not None else [
                str(s) for s in getattr(dataset, "feature_list", None) or []]  # fmt: skip
            if len(names) != feats.shape[2]:
                raise bad_value("feature_list", names, f"{feats.shape[2]} names, one per feature")
            feats.flags.writeable = False
        elif dataset is not None:
            feats, names = feature_snapshot(dataset)
            source = dataset.normalised_elemental_data
        else:
            feats, names = None, [str(s) for s in feature_list or []]
        self._features, self._feature_list = feats, names
        self._features_given = features is not None  # not the dataset's: never compared
        try:
            self._features_source = None if source is None else weakref.ref(source)
        except TypeError:  # not weak-referenceable (a list): compare by content
            self._features_source = None
        if feats is not None:
            grid = feats.shape[:2]
            self.original_shape, self.bin_size = grid_geometry(dataset, grid)
        else:
            self.original_shape = self.bin_size = None
        self._input = None if dataset is None else input_fingerprint(dataset, feats, names)
        self._valid = None if feats is None else valid_pixels(dataset, feats.shape[:2])

    # ------------------------------------------------------------------ state set-up
    def _setup(self, latent, h, w, labels, proba, membership):
        self.latent = latent
        self.height, self.width = int(h), int(w)
        if getattr(self, "original_shape", None) is None:
            self.original_shape, self.bin_size = (self.height, self.width), (1, 1)
        self._labels = np.asarray(labels, dtype=np.int32).reshape(h, w).copy()
        if getattr(self, "_valid", None) is not None:
            self._labels[~self._valid] = -1  # excluded pixels are never in a cluster
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
        self.n_components_evidence = None
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

    def copy(self) -> Self:
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
        new._report_cache = dict(getattr(self, "_report_cache", None) or {})
        new.__dict__.pop("_observers", None)  # views of this segmenter do not follow the copy
        return new


    def __repr__(self) -> str:
        return (
            f"PixelSegmenter(method={self._method_name()!r}, shape={(self.height, self.width)}, "
            f"n_clusters={self.n_clusters}, noise={self.noise_count}, edits={len(self._undo)})"
        )


def _check_latent(latent, h, w) -> np.ndarray:
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
    if not np.issubdtype(latent.dtype, np.number) or not np.isfinite(latent).all():
        raise bad_value("latent", "an array with NaN or inf", "finite latent coordinates")
    return latent
