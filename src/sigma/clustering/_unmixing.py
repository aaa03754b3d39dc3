"""Cluster spectra, NMF unmixing, abundance maps, proportions and mask export.

Mixed into :class:`~sigma.clustering.PixelSegmenter`; the numeric work is in
:mod:`sigma.unmixing` and :mod:`sigma.clustering.masks`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sigma._errors import bad_value
from sigma.clustering.masks import check_field_of_view, read_image_shape, write_cluster_masks


class SpectraMixin:
    """Spectra and unmixing of the clusters; see :class:`~sigma.clustering.PixelSegmenter`."""

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
        """Sum, mean or core spectrum per cluster, shape (K, C), aligned with ``cluster_ids``.

        Computed in one vectorised pass over the spectrum cube and cached until the labels
        change. The pass makes the sums (of each cluster's core pixels and of the rest); the
        means are derived from them, so NMF (means), identification and the outputs (sums)
        share one pass.

        Parameters
        ----------
        kind : {'sum', 'mean', 'core'}
            ``'core'``: the mean over the cluster's core pixels
            (:func:`sigma.unmixing.spectra.core_pixels`: all eight neighbours in the same
            cluster), the estimate of the phase's own spectrum least mixed with its
            neighbours' (a small inclusion's or particle's rim pixels blend in its host); a
            cluster with fewer than :data:`~sigma.unmixing.spectra.CORE_MIN_PIXELS` core
            pixels gets its mean over all its pixels. ``'sum'`` and ``'mean'`` cover every
            pixel of the cluster (``cluster_spectra.csv`` is the mean).
        progress : bool or None
            Show a tqdm bar (useful for lazy cubes); ``None`` follows ``SIGMA_PROGRESS``.
        """
        from sigma._progress import progress_enabled
        from sigma.unmixing.spectra import CORE_MIN_PIXELS, cluster_spectra, core_pixels

        progress = progress_enabled() if progress is None else progress
        if kind not in ("sum", "mean", "core"):
            raise bad_value("kind", kind, "'sum', 'mean' or 'core'")
        key = ("spectra", kind)
        if key not in self._cache:
            total = self._cache.get(("spectra", "sum"))
            if total is None:
                # one pass: a core pixel keeps its id, another pixel of cluster c counts as c + off
                ids = np.asarray(self.cluster_ids)
                lab = self._labels
                core = core_pixels(lab)
                off = int(ids.max(initial=-1)) + 1
                split = np.where(core | (lab < 0), lab, lab + off)
                both = cluster_spectra(self._spectra_data(), split, np.r_[ids, ids + off], "sum",
                                       progress=progress)  # fmt: skip
                k = len(ids)
                total = both[:k] + both[k:]
                total.flags.writeable = False
                self._cache[("spectra", "sum")] = total
                n_core = np.bincount(np.searchsorted(ids, lab[core]), minlength=k)[:k] if k else np.zeros(0, int)
                self._cache[("spectra", "core_parts")] = (both[:k], n_core)
            if kind == "mean":
                s = total / np.maximum(self.counts, 1)[:, None]
                s.flags.writeable = False
                self._cache[key] = s
            elif kind == "core":
                core_sum, n_core = self._cache[("spectra", "core_parts")]
                own = n_core >= CORE_MIN_PIXELS
                s = np.where(own[:, None], core_sum / np.maximum(n_core, 1)[:, None],
                             total / np.maximum(self.counts, 1)[:, None])
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
        self.notify_changed("nmf")

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
        from sigma.unmixing.nmf import unmix_spectra_seeded

        if method != "NMF":
            raise bad_value("method", method, "'NMF' (a seeded start needs init='custom')")
        args = dict(method_args or {})
        seeds = []
        if seed_clusters is not None:
            seed_ids = self._check_ids(seed_clusters, "seed_clusters")
            _, sx = self._nmf_input(seed_ids, normalised, spectra_kind)
            seeds.append(sx)
        if seed_spectra is not None:
            seeds.append(np.atleast_2d(np.asarray(seed_spectra, dtype=np.float64)))
        if not seeds:
            fill = args.pop("init", None) or "nndsvda"
            return self.get_unmixed_spectra_profile(
                clusters_to_be_calculated, n_components, normalised, method,
                {**args, "init": "nndsvda" if fill == "custom" else fill},
                spectra_kind=spectra_kind,
            )  # fmt: skip
        ids, x = self._nmf_input(clusters_to_be_calculated, normalised, spectra_kind)
        weights, components, model = unmix_spectra_seeded(
            x, np.vstack(seeds), n_components, method_args=args
        )
        self._store_nmf(ids, weights, components, model)
        return self.nmf_weights, components

    def abundance_maps(self, components=None, *, progress: bool | None = None) -> np.ndarray:
        """Per-pixel non-negative least-squares abundances, shape (H, W, n_components).

        Each pixel's spectrum ``s`` is fitted as ``a @ components`` with ``a >= 0`` (not a
        constant per cluster). Vectorised over all pixels; excluded pixels (the dataset's
        ``valid_mask``) get 0.

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
        out = nnls_abundances(self._spectra_data(), components, progress=progress)
        valid = getattr(self, "_valid", None)
        if valid is not None:
            out[~valid] = 0.0  # excluded pixels: no abundance
        return out

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
        """Write one ``cluster_<id>.tiff`` (uint8 0/255) per cluster, and a manifest.

        Parameters
        ----------
        output_dir : path
            Created if missing. Masks an earlier export wrote there are replaced, and those
            of clusters that no longer exist removed; files SIGMA2 did not write (or that
            were changed since) are never overwritten or removed
            (:func:`~sigma.clustering.write_cluster_masks`).
        high_res_path : path, optional
            An image of the map's field of view (.tif/.tiff read with tifffile, others with
            Pillow), whose size the masks get. Each of its pixels takes the scanned map pixel
            containing its centre, then that pixel's bin (:attr:`original_shape`,
            :attr:`bin_size`), so masks neither shrink nor shift; pixels of a partial edge
            block that the binning dropped are in no mask. An image of another aspect ratio
            (a data bar, another area) is refused. Without it, masks have the clustering
            grid's size.

        Returns
        -------
        list of Path
        """
        shape = None
        if high_res_path is not None:
            shape = read_image_shape(high_res_path)
            check_field_of_view(self.original_shape, shape, high_res_path, name="high_res_path")
        return write_cluster_masks(self._labels, self.cluster_ids, output_dir, shape,
                                   original_shape=self.original_shape, bin_size=self.bin_size)
