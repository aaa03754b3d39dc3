"""Score library candidates against one measured spectrum (:class:`_Scorer`): the lines each
candidate is judged on, its predicted peak-to-background ratios and the fits that measure
them, cached per set of elements. The method is described in :mod:`sigma.identify.match`,
which ranks the candidates and names the spectrum.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from .._errors import bad_value
from . import physics
from .elements import ElementReport, detect_elements
from .library import Phase
from .scoring import Candidate, _measure, _measure_fit, _Measured, _Rows, _score_rows, model_error

#: Mass fraction at which an element absent from a phase's ideal formula is tolerated (1 sigma):
#: real minerals carry minor substitutions (Fe in feldspar, Mn in ilmenite, Ti in biotite).
TRACE_FRACTION = 0.02
#: Model error of a reference-spectrum comparison (relative).
REFERENCE_ERROR = 0.07


class _Scorer:
    """Scores candidates against one spectrum; caches one fit per set of elements."""

    def __init__(self, report: ElementReport, nuisance, offsets=None):
        self.rep = report
        self.f = report.fitter
        self.detected = set(report.present)
        self.nuisance = set(nuisance)
        self.offsets = offsets or {}
        self._cache: dict = {}
        if report.fit is not None:
            # the detection fit is the exact fit of the detected elements: no need to redo it
            from .elements import family_nets

            bpk = self.f.background_per_kev_function(report.fit.background)
            self._cache[frozenset(self.detected)] = _measure_fit(self.f, report.fit, bpk, family_nets)

    def measured(self, elements) -> _Measured:
        key = frozenset(elements)
        if self.approximate:
            return self._approx(key)
        if key not in self._cache:
            self._cache[key] = _measure(self.f, self.rep.sum_peak_terms, key)
        return self._cache[key]

    approximate = False

    def with_offsets(self, offsets: dict) -> _Scorer:
        """The same scorer (and fit cache) with other sensitivity offsets."""
        self.offsets = dict(offsets)
        return self

    def _approx(self, elements) -> _Measured:
        """Intensities from the detection fit; elements not in it are estimated one family at
        a time by the score formula (each added alone to that fit). Used to short-list."""
        from .elements import family_nets

        fit, f = self.rep.fit, self.f
        if not hasattr(self, "_base"):
            bpk = f.background_per_kev_function(fit.background)
            self._bpk = bpk
            self._base = _measure_fit(f, fit, bpk, family_nets)
            self._extra: dict = {}
        base = self._base
        out = base.subset([k for k in base.q if base.element[k] in elements])
        for el in sorted(elements - {base.element[k] for k in base.q}):
            if el not in self._extra:
                fams = f.families_in_range(el)
                prim, _ = f.family_ratios(el, self._bpk)
                entry = {}
                if fams:
                    cols = np.column_stack([f.family_profile(el, fam) for fam in fams])
                    w = fit.weights
                    r = f.y - fit.model
                    wg = cols * w[:, None]
                    xtwg = fit.columns.T @ wg
                    den = np.einsum("ij,ij->j", cols, wg) - np.einsum("ij,ij->j", xtwg, fit.cov @ xtwg)
                    den = np.maximum(den, 1e-12)
                    a = (wg.T @ r) / den
                    for fam, ai, di in zip(fams, a, den, strict=True):
                        e_a = f.alpha_energy(el, fam)
                        b = self._bpk(e_a)
                        entry[f"{el} {fam}"] = (ai / b, math.sqrt(1.0 / di) / b, fam, e_a, el, fam == prim,
                                                ai * math.sqrt(di))
                self._extra[el] = entry
            for k, (q, sg, fam, e_a, el2, pr, zz) in self._extra[el].items():
                out.q[k], out.sigma[k], out.family[k] = q, sg, fam
                out.energy[k], out.element[k], out.primary[k], out.z[k] = e_a, el2, pr, zz
        return out

    def elements_of(self, phase: Phase) -> list[str]:
        f = self.f
        key = ("els", phase.name, id(phase))
        if key not in self._cache:
            self._cache[key] = [el for el in _detectable(_comp_key(phase.composition), f.beam_energy,
                                                           (f.e_lo, f.e_hi)) if f.families_in_range(el)]
        return self._cache[key]

    def rows(self, phase: Phase) -> _Rows | None:
        """The lines a candidate is judged on, with its predictions (None: nothing to judge).

        Built once per phase and mode (short-list or exact); the map's sensitivity offsets are
        applied on top, so re-scoring with new offsets costs no new bookkeeping.
        """
        key = ("rows", phase.name, id(phase), self.approximate)
        if key not in self._cache:
            self._cache[key] = (self._reference_rows(phase) if phase.reference is not None
                                else self._phase_rows(phase))  # fmt: skip
        rows = self._cache[key]
        if rows is None or not self.offsets or phase.reference is not None:
            return rows
        factor = np.exp([self.offsets.get(k, 0.0) for k in rows.keys])
        return dataclasses.replace(rows, pred=rows.pred * factor, trace=rows.trace * factor)

    def _phase_rows(self, phase: Phase) -> _Rows | None:
        els = self.elements_of(phase)
        if not els:
            return None
        m = self.measured(self.detected | set(els))
        scored = [k for k in m.q if m.element[k] not in self.nuisance or m.element[k] in els]
        f = self.f
        comp = _comp_key(phase.composition)
        pb = _predicted(comp, f.beam_energy, f.kind, tuple(els))
        pred = [pb.get((m.element[k], m.family[k]), 0.0) for k in scored]
        errs = [model_error(m.energy[k], m.family[k], m.primary[k]) for k in scored]
        # an element missing from the ideal formula may still be there as a minor substitution:
        # it is allowed at about TRACE_FRACTION (one standard deviation) of the phase's mass
        trace = [0.0 if m.element[k] in els else
                 _trace_pb(comp, m.element[k], f.beam_energy, f.kind).get((m.element[k], m.family[k]), 0.0)
                 for k in scored]  # fmt: skip
        return _Rows.build(phase, m, scored, pred, errs, None, trace)

    def _reference_rows(self, phase: Phase) -> _Rows | None:
        ref = phase.reference
        f = self.f
        if abs(ref.beam_energy - f.beam_energy) > 0.05 * f.beam_energy:
            raise bad_value(f"reference spectrum {phase.name!r}",
                            f"{ref.source or 'spectrum'} recorded at {ref.beam_energy:g} kV",
                            f"the map's beam energy {f.beam_energy:g} kV ± 5 %"
                            " (line ratios change with the beam energy)")  # fmt: skip
        ref_rep = _reference_report(phase, f.kind)
        ref_els = set(ref_rep.present)
        fitted = self.detected | ref_els
        m = self.measured(fitted)
        rf = ref_rep.fitter
        lo, hi = rf.e_lo, rf.e_hi
        usable = sorted({m.element[k] for k in m.q if lo <= m.energy[k] <= hi})
        if not usable:
            return None
        mr = _measure(rf, ref_rep.sum_peak_terms, usable)
        scored = [k for k in m.q if k in mr.q and (m.element[k] not in self.nuisance or m.element[k] in ref_els)]
        pred = [max(mr.q[k], 0.0) if mr.q[k] > 2 * mr.sigma[k] else 0.0 for k in scored]
        extra = [(mr.sigma[k] / max(abs(mr.q[k]), 1e-12)) ** 2 for k in scored]
        errs = [REFERENCE_ERROR] * len(scored)
        return _Rows.build(phase, m, scored, pred, errs, extra, None)

    def score_many(self, phases) -> list[Candidate]:
        """Candidates for every phase that has something to be judged on, scored together."""
        rows = [r for r in (self.rows(p) for p in phases) if r is not None]
        return _score_rows(rows)

    def score(self, phase: Phase) -> Candidate | None:
        out = self.score_many([phase])
        return out[0] if out else None


@functools.cache
def _detectable(comp: tuple, beam_energy: float, window: tuple) -> list[str]:
    return physics.composition_detectable_elements(dict(comp), beam_energy, window)


def _comp_key(composition) -> tuple:
    return tuple(sorted((el, round(float(c), 12)) for el, c in composition.items()))


@functools.lru_cache(maxsize=20000)
def _predicted(comp: tuple, beam_energy: float, kind: str, elements: tuple) -> dict:
    """Predicted peak-to-background of a composition's families (cached per library entry)."""
    return physics.peak_to_background(dict(comp), beam_energy, kind, elements=list(elements))


@functools.lru_cache(maxsize=50000)
def _trace_pb(comp: tuple, element: str, beam_energy: float, kind: str) -> dict:
    """Peak-to-background of ``element`` added at :data:`TRACE_FRACTION` to a composition."""
    c2 = {k: v * (1 - TRACE_FRACTION) for k, v in comp}
    c2[element] = c2.get(element, 0.0) + TRACE_FRACTION
    return physics.peak_to_background(c2, beam_energy, kind, elements=[element])


def _reference_report(phase: Phase, kind: str) -> ElementReport:
    ref = phase.reference
    rep = getattr(ref, "_report", None)
    if rep is None:
        rep = detect_elements(ref.counts, ref.energy, beam_energy=ref.beam_energy,
                              kind=ref.kind or kind, fwhm_mnka=ref.fwhm_mnka)  # fmt: skip
        if rep.insufficient:
            raise bad_value(f"reference spectrum {phase.name!r}",
                            f"{rep.total_counts:.0f} counts",
                            f"at least {rep.min_counts:.0f} counts")  # fmt: skip
        ref._report = rep
    return rep
