"""What a fitted :class:`~sigma.clustering.PixelSegmenter` shows: its labels, clusters, counts,
means and probabilities, as read-only views computed once per labelling (the cache that an
edit clears)."""

from __future__ import annotations

import warnings
import weakref

import numpy as np


class ViewsMixin:
    """Read-only views of the labels and what is derived from them, for
    :class:`~sigma.clustering.PixelSegmenter`."""

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
        """Number of noise (-1) pixels (the excluded pixels among them)."""
        return int((self._labels == -1).sum())

    @property
    def excluded_mask(self) -> np.ndarray:
        """``(H, W)`` bool: the pixels the dataset excluded (all False when it excluded none)."""
        valid = getattr(self, "_valid", None)
        if valid is None:
            return np.zeros(self._labels.shape, dtype=bool)
        return ~np.asarray(valid, dtype=bool).reshape(self._labels.shape)

    @property
    def excluded_count(self) -> int:
        """Pixels the dataset excluded (outside its ``valid_mask``: outside the scan, NaN, no
        counts) and labelled -1 (``'auto'`` labels the pixels without a count)."""
        return int(np.count_nonzero(self.excluded_mask))

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
    def features(self) -> np.ndarray | None:
        """(H, W, F) float32 features the clustering was fitted on (read-only snapshot)."""
        return self._features

    @property
    def feature_list(self) -> list[str]:
        """Names of the columns of :attr:`features`."""
        return list(self._feature_list)

    def _warn_if_dataset_features_changed(self):
        """Warn once per new feature array when the dataset's features differ from the
        snapshot (re-binned or re-normalised since): results use the snapshot."""
        if getattr(self, "_features_given", False):
            return
        cur = getattr(self.dataset, "normalised_elemental_data", None)
        ref = getattr(self, "_features_source", None)
        if ref is not None and ref() is cur:
            return
        key = id(cur)
        if getattr(self, "_features_checked", None) == key:
            return
        names = [str(s) for s in getattr(self.dataset, "feature_list", None) or []]
        same = (
            cur is not None and np.shape(cur) == self._features.shape
            and names == self._feature_list and np.array_equal(cur, self._features)
        )  # fmt: skip
        if not same:
            warnings.warn(
                f"the dataset's features (shape {np.shape(cur) if cur is not None else None}, "
                f"{names}) are no longer those this segmenter was fitted on (shape "
                f"{self._features.shape}, {self._feature_list}); its results use the fitted "
                "features (PixelSegmenter.features). Make a new PixelSegmenter to use the new ones.",
                UserWarning, stacklevel=3,
            )  # fmt: skip
        self._features_checked = key
        if same and cur is not None:
            try:
                self._features_source = weakref.ref(cur)
            except TypeError:
                pass

    @property
    def feature_means(self) -> np.ndarray:
        """Mean normalised feature vector per cluster, shape (K, F), of :attr:`features`."""
        if self._features is None:
            self._require_dataset("feature_means")
        if self.dataset is not None:
            self._warn_if_dataset_features_changed()
        if "feat" not in self._cache:
            self._cache["feat"] = self._group_means(self._features)
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
