"""Naming of the clusters, modal statistics and EMSA export, mixed into the segmenter.

Thin methods over :mod:`sigma.identify` and :mod:`sigma.io.emsa`. The identification is kept in
the segmenter's cache, so an edit (merge, create, reset, undo) drops it like the cached
spectra; the settings of the last :meth:`IdentifyMixin.identify_phases` call are remembered and
:attr:`IdentifyMixin.cluster_names` re-identifies on its next access, reusing the element fits of
every cluster whose pixels did not change.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from sigma._errors import bad_value

logger = logging.getLogger(__name__)


def _dataset_kind(dataset) -> str:
    t = str(getattr(dataset, "_signal_type", "") or "")
    if not t:
        t = str(getattr(getattr(dataset, "info", None), "signal_type", "EDS_SEM"))
    return "TEM" if t.endswith("TEM") else "SEM"


class IdentifyMixin:
    """Phase names, modal statistics and spectrum export; see :class:`~sigma.clustering.PixelSegmenter`."""

    # ------------------------------------------------------------------ identification
    def _instrument(self) -> dict:
        self._require_dataset("identification")
        ds = self.dataset
        info = getattr(ds, "info", None)
        beam = getattr(info, "beam_energy", None)
        if not beam:
            sig = getattr(ds, "analysis_spectra", None)
            md = getattr(sig, "metadata", None)
            for node in ("Acquisition_instrument.SEM.beam_energy", "Acquisition_instrument.TEM.beam_energy"):
                if md is not None and md.has_item(node):
                    beam = float(md.get_item(node))
                    break
        return {"beam_energy": beam, "kind": _dataset_kind(ds),
                "fwhm_mnka": float(getattr(ds, "fwhm_mnka", 130.0) or 130.0)}  # fmt: skip

    def identify_phases(self, library=None, *, nuisance=None, min_p_value: float | None = None,
                        calibrate: bool = False, beam_energy: float | None = None,
                        unmix_rims: bool = True, **detect_kw):
        """Name every cluster from its summed spectrum against a phase library.

        On a bulk (SEM) map the counts that a cluster's rim pixels hold of its neighbours
        (:meth:`get_pure_spectra`) are also fitted as a known offset: a small inclusion, mostly
        rim, is then named from its own lines, not from a mixture with its host's, and the
        noise of all its counts stays in the fit. A cluster keeps that reading when it names
        the cluster and fits at least as well as the summed counts alone
        (:func:`sigma.identify.identify_clusters`).

        Parameters
        ----------
        library : PhaseLibrary, optional
            Default :func:`sigma.identify.default_library`; restrict it with
            ``library.restrict(classes=[...])`` or add entries and reference spectra to it.
        nuisance : iterable of str, optional
            Elements fitted but not held against candidates (coating, TEM grid; default Cu
            and the support film's C for TEM). A cluster whose elements are all nuisance
            elements is named the support (status ``'support'``, ``'support film (C, Cu)'``).
        min_p_value : float, optional
            Under this, a cluster is ``'unknown'`` (default 0.001).
        calibrate : bool
            Learn line sensitivities shared by the clusters (see
            :func:`sigma.identify.identify_spectra`).
        beam_energy : float, optional
            kV, when the file does not give it.
        unmix_rims : bool
            Fit the neighbours' share of the rim pixels as a known offset (bulk maps; one more
            pass over the cube, shared with :meth:`get_pure_spectra`). ``False``: the summed
            counts alone, as before this option existed. On thin-sample (TEM) maps, whose
            support film is a nuisance element of the fit instead, the film's cluster
            (:func:`~sigma.unmixing.net.find_film`) is named from its core pixels (its rims
            hold the particles' edges).
        **detect_kw
            Passed to :func:`sigma.identify.detect_elements` (``min_significance`` …).

        Returns
        -------
        ClusterIdentification
            Also kept: :attr:`cluster_names` and :attr:`phase_identification` read it.
        """
        from sigma.identify import MIN_P_VALUE

        inst = self._instrument()
        if beam_energy is not None:
            inst["beam_energy"] = float(beam_energy)
        if not inst["beam_energy"]:
            raise bad_value("beam_energy", None,
                            "the accelerating voltage in kV (the file gives none): "
                            "identify_phases(beam_energy=20)")  # fmt: skip
        params = {"library": library, "nuisance": nuisance,
                  "min_p_value": MIN_P_VALUE if min_p_value is None else float(min_p_value),
                  "calibrate": bool(calibrate), "beam_energy": inst["beam_energy"],
                  "unmix_rims": bool(unmix_rims), "detect_kw": dict(detect_kw)}  # fmt: skip
        self._identify_params = params
        return self._run_identification()

    def _run_identification(self):
        from sigma.identify import identify_clusters

        p = self._identify_params
        inst = self._instrument()
        if not hasattr(self, "_report_cache") or self._report_cache is None:
            self._report_cache = {}
        spectra = np.asarray(self.get_cluster_spectra("sum"), dtype=np.float64)
        ids = self.cluster_ids
        offsets = None
        if p.get("unmix_rims", True) and inst["kind"] == "SEM" and len(ids) > 1:
            removed = np.asarray(self.get_pure_spectra().removed_counts, dtype=np.float64)
            offsets = removed if removed.any() else None
        support = None
        if p.get("unmix_rims", True) and inst["kind"] == "TEM" and len(ids) > 1:
            support = self._film_core(ids)
        res = identify_clusters(spectra, ids, self.energy_axis, beam_energy=p["beam_energy"],
                                kind=inst["kind"], fwhm_mnka=inst["fwhm_mnka"], library=p["library"],
                                nuisance=p["nuisance"], min_p_value=p["min_p_value"],
                                calibrate=p["calibrate"], report_cache=self._report_cache,
                                offsets=offsets, support=support, **p["detect_kw"])  # fmt: skip
        # keep the report cache to the spectra of the current clusters (and the map calibration)
        keep = set(self._spectrum_keys(spectra, offsets))
        keep |= set(self._spectrum_keys(list((support or {}).values())))
        self._report_cache = {k: v for k, v in self._report_cache.items()
                              if k[0] == "calibration" or k[0] in keep}  # fmt: skip
        self._cache["identify"] = res
        logger.info("identified %d clusters: %s", len(res), res.names)
        notify = getattr(self, "notify_changed", None)
        if notify is not None:
            notify("names", "identify_phases")
        return res

    def _film_core(self, ids) -> dict | None:
        """``{row: counts}`` of the support film's core pixels (a thin-sample map's film
        cluster, :func:`~sigma.unmixing.net.find_film`), for ``identify_clusters(support=)``:
        the film's rim pixels hold the edges of the particles on it, whose lines would
        otherwise name it (the carbon film of touching Pt and Pt₃Ni particles was named
        "Pt₃Ni or platinum Pt" on a helper's map). ``None`` without a film or a core."""
        from sigma.unmixing.net import pick_film

        film, _ = pick_film(self.get_cluster_spectra("core"), self._labels, ids)
        if film is None:
            return None
        core_sum, n_core = self._cache[("spectra", "core_parts")]
        i = int(np.searchsorted(ids, film))
        return {i: np.asarray(core_sum[i], dtype=np.float64)} if n_core[i] else None

    @staticmethod
    def _spectrum_keys(spectra, offsets=None) -> list[str]:
        from sigma.identify.clusters import spectrum_key

        keys = [spectrum_key(row) for row in spectra]
        if offsets is not None:  # read both ways (identify_clusters)
            keys += [spectrum_key(row, off) for row, off in zip(spectra, offsets, strict=True) if off.any()]
        return keys

    @property
    def phase_identification(self):
        """The current :class:`~sigma.identify.ClusterIdentification`, or None before
        :meth:`identify_phases` (recomputed after an edit, on access)."""
        if "identify" in self._cache:
            return self._cache["identify"]
        if getattr(self, "_identify_params", None) is None or self.dataset is None:
            return None
        return self._run_identification()

    @property
    def cluster_names(self) -> dict[int, str]:
        """``{cluster id: display name}`` (``'ilmenite FeTiO₃'``, ``'unknown (Fe, Ti, O)'``).

        Empty until :meth:`identify_phases` has run (or names are set); kept current through
        edits. Names set by assignment (``ps.cluster_names = {3: 'my slag'}``) take precedence
        over identified ones; only ids of existing clusters are returned.
        """
        res = self.phase_identification
        names = {} if res is None else dict(res.names)
        names.update(getattr(self, "_user_names", None) or {})
        ids = set(self.cluster_ids.tolist())
        return {k: v for k, v in names.items() if k in ids}

    @cluster_names.setter
    def cluster_names(self, names) -> None:
        if names is None:
            names = {}
        if not isinstance(names, dict) or not all(
            isinstance(v, str) and str(k).lstrip("-").isdigit() for k, v in names.items()
        ):
            raise bad_value("cluster_names", names, "a dict {cluster id: name}")
        self._user_names = {int(k): v for k, v in names.items()}

    def cluster_label(self, cluster_id: int, with_fraction: bool = True) -> str:
        """``'3 · ilmenite FeTiO₃ · 12.4 %'`` (area of all scanned pixels); ``'3'`` unnamed."""
        cid = int(cluster_id)
        parts = [str(cid)]
        name = self.cluster_names.get(cid)
        if name:
            parts.append(name)
        if with_fraction and cid in set(self.cluster_ids.tolist()):
            frac = self.counts[list(self.cluster_ids).index(cid)] / max(self.n_pixels, 1)
            parts.append(f"{100 * frac:.1f} %")
        return " · ".join(parts)

    def phase_table(self, modal=None) -> list[dict]:
        """One dict per cluster: id, colour, name, status, elements, area % (of all scanned
        pixels), pixels, best candidates ``[(label, p), ...]``, alternatives and, from
        ``modal`` (default :meth:`modal_statistics`), grains and median / d90 ECD."""
        res = self.phase_identification
        modal = self.modal_statistics() if modal is None else modal
        mod = {int(k): i for i, k in enumerate(modal.ids.tolist())}
        out = []
        for cid, n in zip(self.cluster_ids.tolist(), self.counts.tolist(), strict=True):
            r = res.results.get(cid) if res is not None else None
            row = {"cluster": cid, "color": self.colors.get(cid, "#000"), "pixels": int(n),
                   "area_percent": 100.0 * n / max(self.n_pixels, 1), "name": r.name if r else "",
                   "status": r.status if r else "", "elements": r.elements.summary() if r else "",
                   "candidates": [(c.label, c.p_value) for c in r.candidates[:3]] if r else [],
                   "alternatives": list(r.alternatives) if r else []}  # fmt: skip
            if cid in mod:
                i = mod[cid]
                row.update(grains=int(modal.n_grains[i]), ecd_d50=float(modal.ecd_d50[i]),
                           ecd_d90=float(modal.ecd_d90[i]), unit=modal.unit)
            out.append(row)
        return out

    # ------------------------------------------------------------------ modal statistics
    def pixel_size(self) -> tuple[tuple[float, float], str]:
        """``((y, x) size of an analysis pixel, unit)`` from the dataset's navigation axes."""
        sig = getattr(self.dataset, "analysis_spectra", None) if self.dataset is not None else None
        try:
            nav = sig.axes_manager.navigation_axes
            x, y = nav[0], nav[1]
            unit = str(x.units) if x.units and str(x.units) != "<undefined>" else "px"
            return (abs(float(y.scale)), abs(float(x.scale))), unit
        except (AttributeError, IndexError, TypeError):
            return (1.0, 1.0), "px"

    def modal_statistics(self, *, connectivity: int = 8):
        """Area %, grains, equivalent-circle diameters and phase association of the map.

        Lengths are in the unit of the dataset's navigation axes (``'px'`` when it has none).

        Returns
        -------
        sigma.identify.ModalStatistics
        """
        from sigma.identify.modal import modal_statistics

        size, unit = self.pixel_size() if self.dataset is not None else ((1.0, 1.0), "px")
        return modal_statistics(self.labels, size, unit, connectivity=connectivity)

    # ------------------------------------------------------------------ EMSA export
    def _live_time_per_pixel(self):
        info = getattr(self.dataset, "info", None)
        lt = (getattr(info, "metadata", {}) or {}).get("live_time") if info is not None else None
        if lt is not None and np.ndim(lt) == 2 and tuple(np.shape(lt)) == (self.height, self.width):
            return np.asarray(lt, dtype=float)
        return None

    def export_phase_spectra(self, folder, *, nmf: bool = True, overwrite: bool = False) -> list[Path]:
        """Write each cluster's summed spectrum (and the NMF components) as EMSA/MSA 1.0 files.

        ``folder/cluster_<id>.msa`` per cluster (title: its name when identified; elements: the
        elements found in it, else the dataset's), and ``folder/nmf_component_<j>.msa`` when NMF
        has run. Headers carry the beam energy, the energy calibration, the detector
        resolution and angles, and the live time when the input file gives one (summed over
        the cluster's pixels).

        Returns
        -------
        list of Path
        """
        from sigma.io.emsa import write_emsa

        self._require_dataset("spectrum export")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        e = np.asarray(self.energy_axis, dtype=float)
        scale, offset = float(e[1] - e[0]), float(e[0])
        inst = self._instrument()
        md = self.dataset.analysis_spectra.metadata
        node = f"Acquisition_instrument.{inst['kind']}.Detector.EDS"
        elev = md.get_item(f"{node}.elevation_angle") if md.has_item(f"{node}.elevation_angle") else None
        azim = md.get_item(f"{node}.azimuth_angle") if md.has_item(f"{node}.azimuth_angle") else None
        ds_elements = sorted({ln.split("_")[0] for ln in getattr(self.dataset, "feature_list", []) if "_" in ln})
        ident = self._cache.get("identify")
        live = self._live_time_per_pixel()
        spectra = np.asarray(self.get_cluster_spectra("sum"), dtype=np.float64)
        paths = []
        for row, cid, n in zip(spectra, self.cluster_ids.tolist(), self.counts.tolist(), strict=True):
            res = ident.results.get(cid) if ident is not None else None
            els = list(res.elements.present) if res is not None and res.elements.elements else ds_elements
            name = res.name if res is not None else ""
            title = f"SIGMA2 cluster {cid}" + (f": {name}" if name else "")
            lt = float(live[self._labels == cid].sum()) if live is not None else None
            comments = [f"sum of {n} pixels of cluster {cid}"]
            if res is not None and res.best is not None:
                comments.append(f"best match {res.best.phase.name} (p={res.best.p_value:.2g}), status {res.status}")
            paths.append(write_emsa(folder / f"cluster_{cid}.msa", row, energy_scale=scale,
                                    energy_offset=offset, beam_energy=inst["beam_energy"],
                                    live_time=lt, elements=els, title=title, comments=comments,
                                    elevation_angle=elev, azimuth_angle=azim,
                                    fwhm_mnka=inst["fwhm_mnka"], overwrite=overwrite))  # fmt: skip
        comps = getattr(self, "nmf_components", None)
        if nmf and comps is not None:
            for j, comp in enumerate(np.asarray(comps, dtype=np.float64)):
                paths.append(write_emsa(folder / f"nmf_component_{j}.msa", comp, energy_scale=scale,
                                        energy_offset=offset, beam_energy=inst["beam_energy"],
                                        elements=ds_elements, title=f"SIGMA2 NMF component {j}",
                                        comments=["NMF end-member (arbitrary units, not counts)"],
                                        elevation_angle=elev, azimuth_angle=azim,
                                        fwhm_mnka=inst["fwhm_mnka"], overwrite=overwrite))  # fmt: skip
        return paths
