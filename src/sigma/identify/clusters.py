"""Identification of every cluster of a phase map, as one result object.

:func:`identify_clusters` runs element detection on each cluster's summed spectrum (reusing
reports of spectra it has seen, so after a merge only the merged cluster is refitted), names
every cluster against the library (:func:`~sigma.identify.match.identify_spectra`, with the
map-level sensitivity calibration) and returns a :class:`ClusterIdentification`: the per-cluster
results, short display names for legends and table rows for CSV, HTML and ``run.json``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from .._errors import bad_value
from .elements import detect_elements, map_calibration
from .library import PhaseLibrary, default_library
from .match import DEFAULT_NUISANCE, MIN_P_VALUE, PhaseIdentification, identify_spectra

#: Columns of :meth:`ClusterIdentification.rows` (the ``phase_identification.csv`` header).
ROW_COLUMNS = ["cluster", "status", "name", "best", "formula", "p_value", "chi2", "dof",
               "alternatives", "elements", "ambiguous_elements", "total_counts", "candidates"]  # fmt: skip


def spectrum_key(counts, offset=None) -> str:
    """A digest of a spectrum's counts, and of the known offset it is fitted with (reports are
    reused for identical spectra).

    Examples
    --------
    >>> spectrum_key([1, 2, 3]) == spectrum_key(np.array([1.0, 2.0, 3.0]))
    True
    >>> spectrum_key([1, 2, 3]) == spectrum_key([1, 2, 3], offset=[0, 1, 0])
    False
    """
    key = hashlib.sha1(np.ascontiguousarray(counts, dtype=np.float64).tobytes()).hexdigest()
    if offset is None:
        return key
    return key + ":" + hashlib.sha1(np.ascontiguousarray(offset, dtype=np.float64).tobytes()).hexdigest()


def _fit_rank(res) -> tuple[bool, float]:
    """How well a cluster's reading fits: named before unknown, then the best p-value."""
    best = res.best
    return res.status == "identified", (best.p_value if best is not None else -1.0)


@dataclass
class ClusterIdentification:
    """What every cluster is.

    Attributes
    ----------
    results : dict
        ``{cluster id: PhaseIdentification}``.
    params : dict
        The settings used (beam energy, kind, library size, nuisance elements …).

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.synthetic import energy_axis, phase_spectrum
    >>> e = energy_axis(1024, 0.02, -0.1)
    >>> x = np.random.default_rng(0).poisson(3e4 * phase_spectrum("NaCl", e))[None]
    >>> res = identify_clusters(x, [5], e, beam_energy=20.0)
    >>> res.names, res.rows()[0][:3]
    ({5: 'halite NaCl'}, [5, 'identified', 'halite NaCl'])
    >>> print(res)  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
    ClusterIdentification: 1 clusters, 20 kV SEM, library of ... phases
      cluster  p     elements  name
      5        ...   Cl Na     halite NaCl
    """

    results: dict[int, PhaseIdentification]
    params: dict = field(default_factory=dict)

    @property
    def names(self) -> dict[int, str]:
        """``{cluster id: short name}``, e.g. ``'ilmenite FeTiO₃'``, ``'jadeite NaAlSi₂O₆ or 2
        alike'`` (a group EDS cannot tell apart; the full list is the result's ``name``) or
        ``'unknown (Fe, Ti, O)'``."""
        return {k: r.short_name for k, r in self.results.items()}

    def __getitem__(self, cluster_id: int) -> PhaseIdentification:
        return self.results[int(cluster_id)]

    def __len__(self) -> int:
        return len(self.results)

    def _display_rows(self) -> list[tuple[str, str, str, str]]:
        out = []
        for k, r in self.results.items():
            best = r.best
            p = f"{best.p_value:.2g}" if best is not None and r.status == "identified" else "–"
            els = " ".join(r.elements.present) if r.elements is not None else ""
            out.append((str(int(k)), p, els or "–", r.name))
        return out

    def __repr__(self) -> str:
        """A table a notebook prints: cluster, p-value of the best, elements, name (the name
        says 'unknown (…)' or 'insufficient counts (…)' when the cluster is not identified)."""
        beam = self.params.get("beam_energy_kv")
        head = (f"ClusterIdentification: {len(self)} clusters"
                + (f", {beam:g} kV {self.params.get('kind', '')}" if beam else "")
                + (f", library of {self.params['library_phases']} phases" if "library_phases" in self.params else ""))  # fmt: skip
        rows = [("cluster", "p", "elements", "name"), *self._display_rows()]
        width = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r[:3], width, strict=True)) + "  " + r[3] for r in rows]
        return "\n".join([head, *("  " + ln.rstrip() for ln in lines)])

    def _repr_html_(self) -> str:
        import html

        head = html.escape(repr(self).splitlines()[0])
        cells = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{html.escape(c)}</td>" for c in row) + "</tr>"
            for row in self._display_rows()
        )
        cols = "".join(f"<th style='text-align:left'>{c}</th>" for c in ("cluster", "p", "elements", "name"))
        return f"<div><b>{head}</b><table><tr>{cols}</tr>{cells}</table></div>"

    def rows(self) -> list[list]:
        """One row per cluster in the order of :data:`ROW_COLUMNS`."""
        out = []
        for k, r in self.results.items():
            best = r.best
            els = r.elements.elements if r.elements is not None else []
            amb = "; ".join(e.label for e in els if e.ambiguous)
            cands = "; ".join(f"{c.label} (p={c.p_value:.2g})" for c in r.candidates[:5])
            out.append([int(k), r.status, r.name, best.phase.name if best else "",
                        best.phase.formula if best else "",
                        float(best.p_value) if best else float("nan"),
                        float(best.chi2) if best else float("nan"), int(best.dof) if best else 0,
                        "; ".join(r.alternatives), " ".join(e.element for e in els), amb,
                        float(r.total_counts), cands])  # fmt: skip
        return out

    def cliff_lorimer(self, kfactors: dict[str, float], *, composition_units: str = "atomic") -> dict[int, dict]:
        """Composition of every cluster by Cliff–Lorimer (TEM), through eXSpy's quantification.

        Parameters
        ----------
        kfactors : dict
            ``{'Fe_Ka': 1.45, 'O_Ka': 2.0, ...}``; at least two lines.
        composition_units : {'atomic', 'weight'}

        Returns
        -------
        dict
            ``{cluster id: {element: percent}}``; empty for a cluster with insufficient counts.

        Examples
        --------
        >>> import numpy as np
        >>> from sigma.synthetic import energy_axis, phase_spectrum
        >>> e = energy_axis(2048, 0.01, 0.0)
        >>> y = np.random.default_rng(0).poisson(2e5 * phase_spectrum("FePt", e, beam_energy=200, kind="TEM"))
        >>> res = identify_clusters(y[None], [0], e, beam_energy=200.0, kind="TEM")
        >>> comp = res.cliff_lorimer({"Fe_Ka": 1.0, "Pt_La": 1.0})[0]
        >>> sorted(comp), round(sum(comp.values()), 6)
        (['Fe', 'Pt'], 100.0)
        """
        from .quant import cliff_lorimer

        reports = [r.elements for r in self.results.values()]
        comps = cliff_lorimer(reports, dict(kfactors), beam_energy=self.params["beam_energy_kv"],
                              composition_units=composition_units)  # fmt: skip
        return dict(zip(self.results, comps, strict=True))

    def to_dict(self) -> dict:
        """JSON-ready settings and per-cluster results (``run.json``)."""
        return {"params": dict(self.params),
                "clusters": {str(k): r.to_dict() for k, r in self.results.items()}}  # fmt: skip


def identify_clusters(
    spectra,
    cluster_ids,
    energy,
    *,
    beam_energy: float,
    kind: str = "SEM",
    fwhm_mnka: float = 130.0,
    library: PhaseLibrary | None = None,
    nuisance=None,
    min_p_value: float = MIN_P_VALUE,
    calibrate: bool = False,
    report_cache: dict | None = None,
    offsets=None,
    support=None,
    **detect_kw,
) -> ClusterIdentification:
    """Identify the summed spectrum of every cluster.

    Parameters
    ----------
    spectra : array_like, shape (K, C)
        Summed counts per cluster (``PixelSegmenter.get_cluster_spectra('sum')``).
    cluster_ids : array_like of int, shape (K,)
    energy : array_like, shape (C,)
        keV.
    beam_energy : float
        kV.
    kind : {'SEM', 'TEM'}
    fwhm_mnka : float
        eV.
    library : PhaseLibrary, optional
    nuisance : iterable of str, optional
        See :func:`~sigma.identify.match.identify_spectrum`.
    min_p_value : float
    calibrate : bool
        Learn line sensitivities across the clusters.
    report_cache : dict, optional
        ``{spectrum_key: ElementReport}`` reused and filled in place.
    offsets : array_like, shape (K, C), optional
        Known counts of another origin in each cluster's spectrum, fitted with coefficient 1
        (:func:`~sigma.identify.elements.detect_elements`): the neighbouring clusters' share of
        its rim pixels (``PixelSegmenter.identify_phases`` passes it on bulk maps). Each
        cluster is read with and without its offset; the reading with it is kept when it
        names the cluster and its best candidate fits at least as well (an identified reading
        before an unknown one, then the p-value). ``params['rim_offsets']`` lists the
        clusters read with it.
    support : dict, optional
        ``{row index: counts}``: other counts of a cluster (a TEM film's core pixels, whose
        rims hold the particles on it) read instead of its summed counts when they show
        nothing but nuisance elements, with the map's calibration; it is then named the
        support. ``params['support_core']`` lists the clusters read so.
    **detect_kw
        Passed to :func:`~sigma.identify.elements.detect_elements`.

    Returns
    -------
    ClusterIdentification

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.synthetic import energy_axis, phase_spectrum
    >>> e = energy_axis(2048, 0.01, -0.2)
    >>> rng = np.random.default_rng(0)
    >>> x = np.stack([rng.poisson(4e4 * phase_spectrum(f, e)) for f in ("SiO2", "NaCl")])
    >>> res = identify_clusters(x, [0, 3], e, beam_energy=20.0)
    >>> res.names[3]
    'halite NaCl'
    """
    x = np.array(spectra, dtype=np.float64)  # a copy: rows may be read from other counts
    ids = [int(i) for i in np.asarray(cluster_ids).ravel()]
    if x.ndim != 2 or x.shape[0] != len(ids):
        raise bad_value("spectra", getattr(x, "shape", x), f"a (K, C) array with K = {len(ids)} clusters")
    kind = str(kind).upper()
    if not beam_energy:
        raise bad_value("beam_energy", beam_energy,
                        "the accelerating voltage in kV (the file gives none: set it on the dataset)")  # fmt: skip
    library = default_library() if library is None else library
    cache = {} if report_cache is None else report_cache
    # one calibration for the map, refined on the sum of every cluster (the detector's, not a
    # phase's): kept through edits, so the reports of unchanged clusters stay valid
    setting = ("calibration", spectrum_key(energy), float(beam_energy), kind, float(fwhm_mnka),
               repr(detect_kw.get("energy_range")))  # fmt: skip
    if setting not in cache:
        cache[setting] = map_calibration(x.sum(axis=0), energy, beam_energy=beam_energy, kind=kind,
                                         fwhm_mnka=fwhm_mnka, energy_range=detect_kw.get("energy_range"))
    cal, window = cache[setting]
    kw = {**detect_kw, "energy_range": window}
    if offsets is not None:
        offsets = np.asarray(offsets, dtype=np.float64)
        if offsets.shape != x.shape:
            raise bad_value("offsets", offsets.shape, f"a (K, C) array like the spectra {x.shape}")

    def report(row, off=None):
        key = (spectrum_key(row, off), setting, repr(sorted(detect_kw.items())))
        if key not in cache:
            cache[key] = detect_elements(row, energy, beam_energy=beam_energy, kind=kind,
                                         fwhm_mnka=fwhm_mnka, calibration=cal, offset=off, **kw)  # fmt: skip
        return cache[key]

    # a cluster whose other counts show only nuisance elements is read from them (the support)
    nuisance_used = list(DEFAULT_NUISANCE.get(kind, ()) if nuisance is None else nuisance)
    core_read = []
    for i, counts in (support or {}).items():
        counts = np.asarray(counts, dtype=np.float64)
        if not 0 <= int(i) < len(ids) or counts.shape != x.shape[1:]:
            raise bad_value("support", f"row {i} with counts of shape {counts.shape}",
                            f"rows 0 to {len(ids) - 1} with {x.shape[1]} channels each")  # fmt: skip
        rep = report(counts)
        if not rep.insufficient and rep.present and set(rep.present) <= set(nuisance_used):
            x[int(i)] = counts
            core_read.append(ids[int(i)])

    def identify(offs):
        reports = [report(row, None if offs is None or not offs[i].any() else offs[i])
                   for i, row in enumerate(x)]
        return identify_spectra(x, energy, beam_energy=beam_energy, kind=kind, fwhm_mnka=fwhm_mnka,
                                library=library, nuisance=nuisance, min_p_value=min_p_value,
                                calibrate=calibrate, reports=reports)  # fmt: skip

    res = identify(None)
    with_offset = []
    if offsets is not None:
        # each cluster keeps the reading whose best candidate fits better: the offset is an
        # estimate (a neighbour's core spectrum for what its rims hold) and can be wrong
        for i, (a, b) in enumerate(zip(res, identify(offsets), strict=True)):
            if offsets[i].any() and b.status == "identified" and _fit_rank(b) >= _fit_rank(a):
                res[i] = b
                with_offset.append(ids[i])
    params = {"beam_energy_kv": float(beam_energy), "kind": kind, "fwhm_mnka_ev": float(fwhm_mnka),
              "library_phases": len(library),
              "nuisance": nuisance_used,
              "min_p_value": min_p_value, "calibrate": calibrate, "rim_offsets": with_offset,
              "support_core": core_read}  # fmt: skip
    return ClusterIdentification(dict(zip(ids, res, strict=True)), params)
