"""Undoable edits of a phase map: merge, create, recolour, reset, undo.

Mixed into :class:`~sigma.clustering.PixelSegmenter`. Every edit goes through ``_commit``,
which records it on the undo stack, invalidates the cached per-cluster quantities and tells the
observers (:mod:`sigma.clustering._observers`) once.
"""

from __future__ import annotations

import logging

import numpy as np

from sigma._errors import bad_value
from sigma.clustering._observers import ObserversMixin
from sigma.clustering.geometry import points_in_region
from sigma.clustering.palette import NOISE_COLOR, next_free_color, normalise_color

logger = logging.getLogger(__name__)


class EditsMixin(ObserversMixin):
    """Edits of the labels; see :class:`~sigma.clustering.PixelSegmenter`."""

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
        self.notify_changed("colors" if op == "recolour" else "labels", op)

    def _invalidate(self, labels_changed=True):
        if labels_changed:
            self._cache.clear()
        else:
            self._cache.pop("prob", None)

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
        self.notify_changed("labels", "undo")

    @property
    def can_undo(self) -> bool:
        """Whether there is an edit to undo."""
        return bool(self._undo)

