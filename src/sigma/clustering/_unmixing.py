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

    def _is_thin_sample(self) -> bool:
        """Whether the dataset is a thin-sample (TEM) map: ``EDS_TEM`` data (a
        :class:`~sigma.datasets.TEMDataset`, or a file whose metadata say TEM)."""
        from sigma.clustering._identify import _dataset_kind

        return self.dataset is not None and _dataset_kind(self.dataset) == "TEM"

    def get_cluster_spectra(self, kind: str = "sum", *, progress: bool | None = None) -> np.ndarray:
        """Sum, mean, core, pure or net spectrum per cluster, shape (K, C), aligned with ``cluster_ids``.

        Computed in one vectorised pass over the spectrum cube and cached until the labels
        change. The pass makes the sums (of each cluster's core pixels and of the rest, and on
        a TEM map of its rims on the five largest clusters and on its most-touched other one);
        the means, core and net spectra are derived from them, so NMF (means), identification
        and the outputs (sums) share one pass.

        Parameters
        ----------
        kind : {'sum', 'mean', 'core', 'pure', 'net'}
            ``'core'``: the mean over the cluster's core pixels
            (:func:`sigma.unmixing.spectra.core_pixels`: all eight neighbours in the same
            cluster), the estimate of the phase's own spectrum least mixed with its
            neighbours' (a small inclusion's or particle's rim pixels blend in its host); a
            cluster with fewer than :data:`~sigma.unmixing.spectra.CORE_MIN_PIXELS` core
            pixels gets its mean over all its pixels. ``'pure'`` (SEM maps only): the
            per-pixel mean over all the cluster's pixels with the neighbouring phase's share of
            each rim pixel removed (:meth:`get_pure_spectra`), as free of mixing as the core
            spectrum and, for a small inclusion, much less noisy. ``'net'`` (TEM maps only): the core
            spectrum with the support film subtracted and an enclosing shell peeled off
            (:meth:`get_net_spectra`); on an SEM (bulk) map it is refused, since an
            inclusion there does not sit on its host. ``'sum'`` and ``'mean'`` cover every
            pixel of the cluster (``cluster_spectra.csv`` is the mean).
        progress : bool or None
            Show a tqdm bar (useful for lazy cubes); ``None`` follows ``SIGMA_PROGRESS``.
        """
        from sigma._progress import progress_enabled
        from sigma.unmixing.spectra import cluster_spectra, core_means, core_pixels

        progress = progress_enabled() if progress is None else progress
        if kind not in ("sum", "mean", "core", "pure", "net"):
            raise bad_value("kind", kind, "'sum', 'mean', 'core', 'pure' or 'net'")
        if kind == "net":
            return self.get_net_spectra(progress=progress).spectra
        if kind == "pure":
            return self.get_pure_spectra(progress=progress).spectra
        key = ("spectra", kind)
        if key not in self._cache:
            total = self._cache.get(("spectra", "sum"))
            if total is None:
                # one pass: a core pixel of cluster c keeps its id, another counts as c + off;
                # on a TEM map one whose only other neighbouring cluster is the m-th of the (up
                # to 5) largest as c + (2 + m) * off, or c's most-touched smaller one in the
                # last group (c's rims: the pixels of the net spectra, net_pixels)
                ids = np.asarray(self.cluster_ids)
                lab = self._labels
                k = len(ids)
                off = int(ids.max(initial=-1)) + 1
                core = core_pixels(lab)
                grp = np.where(core, 0, 1)
                big, top = [], np.full(k, -1)
                if self._is_thin_sample() and k > 1:
                    from sigma.unmixing.net import cluster_contacts, single_neighbour

                    big = ids[np.argsort(-np.asarray(self.counts), kind="stable")[:5]].tolist()
                    nb = single_neighbour(lab)
                    for m, j in enumerate(big):
                        grp = np.where(nb == j, 2 + m, grp)
                    touch = cluster_contacts(lab, ids)[:, :k].astype(float)
                    touch[:, np.searchsorted(ids, big)] = -1  # the largest have groups of their own
                    top = np.where(touch.max(1) > 0, ids[touch.argmax(1)], -1)
                    top_of = top[np.minimum(np.searchsorted(ids, lab), k - 1)]
                    grp = np.where((grp == 1) & (nb == top_of) & (top_of >= 0), 2 + len(big), grp)
                n_grp = 2 + len(big) + (len(big) > 0)
                split = np.where(lab >= 0, lab + grp * off, lab)
                groups = np.concatenate([ids + g * off for g in range(n_grp)])
                parts = cluster_spectra(self._spectra_data(), split, groups, "sum", progress=progress)
                parts = parts.reshape(n_grp, k, -1)
                total = parts.sum(0)
                total.flags.writeable = False
                self._cache[("spectra", "sum")] = total
                pos = np.searchsorted(groups, split[split >= 0]) if k else np.zeros(0, int)
                n_parts = np.bincount(pos, minlength=len(groups)).reshape(n_grp, k)
                self._cache[("spectra", "core_parts")] = (parts[0], n_parts[0])
                self._cache[("spectra", "rim_parts")] = (big, top, parts[2:], n_parts[2:])
            if kind == "mean":
                s = total / np.maximum(self.counts, 1)[:, None]
                s.flags.writeable = False
                self._cache[key] = s
            elif kind == "core":
                core_sum, n_core = self._cache[("spectra", "core_parts")]
                s = core_means(core_sum, n_core, total, self.counts)
                s.flags.writeable = False
                self._cache[key] = s
        return self._cache[key]

    def get_pure_spectra(self, *, progress: bool | None = None):
        """Boundary-corrected ("pure") per-pixel spectra of a bulk (SEM) map's clusters.

        Every rim pixel of a cluster (not a core pixel) is modelled as a mixture of the
        cluster's own spectrum and the core spectrum of its most common neighbouring cluster;
        the neighbour's fitted share is removed and the cluster's spectrum re-estimated from
        all its pixels (:func:`sigma.unmixing.boundary.pure_spectra`). A small inclusion, whose
        pixels are mostly rim, then gets its own spectrum without its host's lines and with
        the counts of all its pixels, not only of its few core ones. One more pass over the
        cube (the rim pixels' products with the core spectra); cached until the labels change.

        Returns
        -------
        PureSpectra
            ``spectra`` (K, C) aligned with ``cluster_ids``, ``neighbour_share`` (share of each
            cluster's counts removed), ``removed``, ``removed_counts`` (the removed counts as
            a spectrum, which :meth:`identify_phases` fits as a known offset) and
            ``pixel_share`` (see :class:`~sigma.unmixing.boundary.PureSpectra`).

        Raises
        ------
        SigmaValueError
            On a thin-sample (``EDS_TEM``) map, where the support film lies under every pixel
            of a particle, not only under its rim: use :meth:`get_net_spectra`.

        Examples
        --------
        >>> import numpy as np
        >>> from sigma.synthetic import make_grain_phantom
        >>> from sigma.datasets import SEMDataset
        >>> from sigma.clustering import PixelSegmenter
        >>> ph = make_grain_phantom((32, 32), n_phases=3, counts_per_pixel=50, n_channels=256,
        ...                         energy_scale=0.04, seed=2)
        >>> lab = ph.labels
        >>> ps = PixelSegmenter.from_labels(np.zeros((lab.size, 2)), SEMDataset(ph.to_signal()), lab,
        ...                                 features=np.zeros((32, 32, 1), np.float32), feature_list=["x"])
        >>> pure = ps.get_pure_spectra()
        >>> pure.spectra.shape, bool((pure.neighbour_share < 0.5).all())
        ((3, 256), True)
        """
        from sigma.unmixing.boundary import pure_spectra, weight_smoothing_channels

        self._require_dataset("pure spectra")
        if self._is_thin_sample():
            raise bad_value(
                "kind", "pure",
                "'sum', 'mean', 'core' or 'net' on a thin-sample (EDS_TEM) map: the support film "
                "lies under every pixel of a particle, not only under its rim; net spectra "
                "subtract it",
            )  # fmt: skip
        key = ("spectra", "pure")
        if key not in self._cache:
            sums = self.get_cluster_spectra("sum", progress=progress)
            core = self.get_cluster_spectra("core", progress=progress)
            self._cache[key] = pure_spectra(self._spectra_data(), self._labels, self.cluster_ids,
                                            sums=sums, core=core,
                                            weight_smoothing=weight_smoothing_channels(self.energy_axis),
                                            progress=bool(progress))  # fmt: skip
        return self._cache[key]

    def get_net_spectra(self, film="auto", *, peel: bool = True, progress: bool | None = None):
        """Film-subtracted, shell-peeled ("net") per-pixel spectra of a TEM map's clusters.

        The correction a TEM analyst makes by hand (:mod:`sigma.unmixing.net`): the support
        film's per-pixel spectrum is subtracted from every brighter cluster's (counts add under
        a particle), and a cluster enclosed by one other non-film cluster (a core in its shell)
        has that cluster's net spectrum subtracted, scaled by the largest factor that keeps it
        non-negative within the counts' noise. Each spectrum is the mean over the cluster's
        :func:`~sigma.unmixing.net.net_pixels` (its core pixels, its rim on the film and a
        core's rim on its shell; an explicit ``film`` that is not among the five largest
        clusters: its core pixels only). From the same cached pass as the other spectra;
        cached until the labels change.

        Parameters
        ----------
        film : 'auto', int or None
            The film's cluster id; ``'auto'`` (default): :func:`~sigma.unmixing.net.find_film`
            (a large cluster that the others lie on and that is 1.5x darker than them; none
            qualifies: nothing is subtracted, ``film_reason`` says why); ``None``: no film.
        peel : bool
            Peel enclosed clusters.
        progress : bool or None

        Returns
        -------
        NetSpectra
            ``spectra`` (K, C) aligned with ``cluster_ids``, ``film``, ``film_reason``,
            ``hosts``, ``factors`` and ``coefficients`` (see
            :class:`~sigma.unmixing.net.NetSpectra`).

        Raises
        ------
        SigmaValueError
            On a map that is not a thin sample (``EDS_TEM``): in a bulk (SEM) map an
            inclusion does not sit on its host, so nothing may be subtracted; use
            ``get_cluster_spectra("core")`` or ``("pure")``.
        """
        from dataclasses import replace

        from sigma.unmixing.net import net_spectra, peel_hosts, pick_film, window_channels
        from sigma.unmixing.spectra import CORE_MIN_PIXELS, core_means

        self._require_dataset("net spectra")
        if not self._is_thin_sample():
            raise bad_value(
                "kind", "net",
                "'sum', 'mean', 'core' or 'pure' on a bulk (SEM) map: net spectra subtract the "
                "support film and overlayers of a thin-sample (EDS_TEM) map; an SEM inclusion "
                "does not sit on its host",
            )  # fmt: skip
        key = ("net", film if film is None or isinstance(film, str) else int(film), bool(peel))
        if key not in self._cache:
            core = self.get_cluster_spectra("core", progress=progress)
            ids, lab = np.asarray(self.cluster_ids), self._labels
            film_id, reason = pick_film(core, lab, ids, film)
            hosts = peel_hosts(lab, ids, film_id) if peel else {}
            core_sum, n_core = self._cache[("spectra", "core_parts")]
            big, top, rim_sum, n_rim = self._cache[("spectra", "rim_parts")]
            sums, n = np.array(core_sum), np.array(n_core)
            # its rim on the film, and a core's on its shell (net_pixels), from the pass's rims
            if film_id in big:
                sums += rim_sum[big.index(film_id)]
                n += n_rim[big.index(film_id)]
            for c, h in hosts.items():
                i = int(np.searchsorted(ids, c))
                g = big.index(h) if h in big else (len(big) if top[i] == h else None)
                if g is not None:
                    sums[i] += rim_sum[g, i]
                    n[i] += n_rim[g, i]
            counts = np.asarray(self.counts)
            own = n >= CORE_MIN_PIXELS
            means = core_means(sums, n, self.get_cluster_spectra("sum"), counts)
            res = net_spectra(means, np.where(own, n, counts), lab, ids, film=film_id, peel=peel,
                              window=window_channels(self.energy_axis))
            res.spectra.flags.writeable = False
            self._cache[key] = replace(res, film_reason=reason)
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
