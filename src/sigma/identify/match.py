"""Name a spectrum: rank library phases by how well they predict its line intensities.

For one spectrum (a cluster's summed counts) and one library candidate:

1. The spectrum is fitted (:class:`~sigma.identify.fitting.SpectrumFitter`, with the calibration
   refined when its elements were found) with the elements found in it *and* the candidate's
   elements, so an overlapped line is shared out the same way for every candidate that has it.
2. Each element's net counts in its strongest family are divided by the fitted background per
   keV under that line: a peak-to-background ratio :math:`q` (keV), in which the detector
   efficiency and absorption cancel to first order. Its uncertainty holds the Poisson noise,
   the background's and the shape error of other elements' peaks under the line
   (:data:`~sigma.identify.scoring.OVERLAP_ERROR`: N Kα under Ti Ll is no better known than
   the Ti L family's line ratios).
3. The candidate predicts :math:`q` up to one common scale :math:`s`
   (:func:`~sigma.identify.physics.peak_to_background`: Bethe ionisation, Burhop fluorescence
   yields, Kramers continuum for its composition).
4. Goodness of fit

   .. math::

       \\chi^2 = \\min_s \\sum_{el} \\frac{(\\ln q_{el} - \\ln s p_{el})^2}{(\\sigma_{el}/q_{el})^2
       + \\epsilon_{el}^2}

   over the elements found and the candidate's elements: log terms for lines measured at
   more than 3σ, linear terms :math:`(q - s p)^2 / (\\sigma^2 + (\\epsilon s p)^2)` otherwise
   (an element predicted but absent, or present but not predicted). :math:`\\epsilon_{el}` is a
   **model error**: 15 % for hard K lines, rising to 40–55 % for soft lines and 15 % more for L
   and M families (:func:`model_error`), correlated between lines close in energy (a
   covariance, :func:`~sigma.identify.scoring.model_covariance`, so the sum is a quadratic form).
   A candidate is rejected only when its intensities are wrong by more than that.

The candidates are ranked by :math:`\\chi^2 - \\nu` (:math:`\\nu` the degrees of freedom, so
that candidates compared on different numbers of elements are on an equal footing), each with the
p-value of :math:`\\chi^2` with :math:`\\nu` degrees of freedom. When even the best has
p < ``min_p_value`` (0.001 by default) the phase is **unknown**: nothing in the library fits
within the noise and the model error. Phases of the same composition (polymorphs) are reported
together; other candidates within 4 of the best score are listed as alternatives. Candidates
that also fit and whose *predicted* intensities differ from the best's by less than the noise
and the model error (:func:`indistinguishable`) are named with it as one group, "jadeite … or
analcime …": EDS cannot tell them apart at these counts (water, Li, Be, or line ratios within
the model error), and the group shrinks as counts grow, down to what the model error allows.
So are candidates that fit this spectrum within :data:`UNRESOLVED_CHI2` of the best's χ²
(whatever their predictions): the data do not say which of the two is right with 95 %
probability (a spectrum between two compositions, or few counts).

A *reference spectrum* candidate is fitted on its own energy axis and compared in the same way
with its measured :math:`q` in place of the prediction (model error 7 %).

With several clusters of one map, :func:`identify_spectra` also learns a sensitivity correction
of every line family shared by two or more clusters from their best matches (shrunk towards no
correction), so a systematic error of the physics or detector for, say, O Kα is learned from
the map itself.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field

import numpy as np

from .._errors import bad_value
from ._scorer import REFERENCE_ERROR, TRACE_FRACTION, _Scorer  # noqa: F401 - re-exported
from .elements import ElementReport, detect_elements
from .library import Phase, PhaseLibrary, default_library
from .scoring import (  # noqa: F401 - re-exported: the scoring kernels lived here
    BACKGROUND_ERROR,
    MODEL_ERROR,
    Candidate,
    _measure,
    _measure_fit,
    _Measured,
    _Rows,
    _score_rows,
    lognormal_terms,
    model_error,
)
from .sensitivity import _log_residuals, _shared_offsets

log = logging.getLogger(__name__)

#: Candidates refitted exactly after the short-list (the others keep their approximate score).
SHORTLIST = 12
#: Default p-value under which the best candidate is rejected ("unknown").
MIN_P_VALUE = 1e-3
#: Score difference (χ² − ν) within which other candidates are listed as alternatives.
ALTERNATIVE_DELTA = 4.0
#: χ² distance between two candidates' predictions (at this spectrum's uncertainties and the
#: model error) under which EDS cannot tell them apart: with :math:`D` the expected χ² of one
#: when the other is true, the better-fitting one is the right one with probability
#: :math:`\Phi(\sqrt{D}/2)`; under :math:`4 \times 1.645^2` that is less than 95 %.
INDISTINGUISHABLE_CHI2 = 4 * 1.645**2
#: χ² by which another candidate that fits must fit worse than the best for the data to say the
#: best is the right one of the two with 95 % probability (equal prior odds:
#: :math:`1 / (1 + e^{-\Delta/2}) = 0.95`); closer ones are named with the best, as a group.
UNRESOLVED_CHI2 = 2 * math.log(0.95 / 0.05)
#: Phases named in the display name of an indistinguishable group (the rest are counted).
GROUP_NAMES_SHOWN = 3
#: Elements treated as system peaks by default (fitted, but not held against a candidate).
DEFAULT_NUISANCE = {"SEM": (), "TEM": ("Cu", "C")}  # TEM: the grid, and the support film


@dataclass
class PhaseIdentification:
    """What one spectrum is.

    Attributes
    ----------
    status : {'identified', 'unknown', 'support', 'insufficient counts'}
        ``'support'``: every element found is a nuisance element (``nuisance`` of
        :func:`identify_spectrum`: a TEM map's support film and grid, a coating); no library
        phase is named.
    name : str
        Short display name: ``'ilmenite FeTiO₃'``, ``'calcite / aragonite CaCO₃'``,
        ``'unknown (Fe, Ti, O)'``, ``'support film (C, Cu)'`` or
        ``'insufficient counts (812 counts)'``.
    candidates : list of Candidate
        Ranked, best first (at most ``top``).
    alternatives : list of str
        Other candidates the data cannot tell from the best (within 4 of its score).
    elements : ElementReport
    total_counts : float
    group : list of str
        Phases EDS cannot tell from the best at these counts (:func:`indistinguishable`) or that
        fit this spectrum within :data:`UNRESOLVED_CHI2` of its χ², the best and its
        polymorphs first; the name then reads ``'jadeite … or analcime …'``.
        Empty for an unknown phase.
    short_name : str
        For legends: the best's label, and how many others EDS cannot tell from it
        (``'jadeite NaAlSi₂O₆ or 2 alike'``); the same as ``name`` when it stands alone.

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.synthetic import energy_axis, phase_spectrum
    >>> e = energy_axis(1024, 0.02, -0.1)
    >>> res = identify_spectrum(np.random.default_rng(2).poisson(3e4 * phase_spectrum("KCl", e)), e,
    ...                         beam_energy=20.0)
    >>> res.status, res.best.phase.name, sorted(res.to_dict())[:3]
    ('identified', 'sylvite', ['alternatives', 'candidates', 'elements'])
    """

    status: str
    name: str
    candidates: list[Candidate]
    alternatives: list[str]
    elements: ElementReport
    total_counts: float
    group: list[str] = field(default_factory=list)
    short_name: str = ""

    def __post_init__(self):
        if not self.short_name:
            self.short_name = self.name

    def __repr__(self) -> str:
        best = self.best
        fit = f", p={best.p_value:.2g}" if best is not None else ""
        els = " ".join(self.elements.present) if self.elements is not None else ""
        return (f"<PhaseIdentification {self.status}: {self.name!r}{fit}, "
                f"{self.total_counts:,.0f} counts, elements: {els or '–'}>")  # fmt: skip

    @property
    def best(self) -> Candidate | None:
        """The best-ranked candidate (even when the phase is 'unknown'), or None."""
        return self.candidates[0] if self.candidates else None

    def to_dict(self) -> dict:
        """JSON-ready result with the elements and every kept candidate."""
        return {"status": self.status, "name": self.name, "short_name": self.short_name,
                "total_counts": float(self.total_counts),
                "alternatives": list(self.alternatives), "group": list(self.group),
                "elements": self.elements.to_dict() if self.elements is not None else None,
                "candidates": [c.to_dict() for c in self.candidates]}  # fmt: skip


# ------------------------------------------------------------------------------ public API
def _insufficient(report: ElementReport) -> PhaseIdentification:
    n = report.total_counts
    return PhaseIdentification("insufficient counts",
                               f"insufficient counts ({n:,.0f} counts; need ≥ {report.min_counts:,.0f})",
                               [], [], report, n)  # fmt: skip


def _unseen(scorer: _Scorer, phase: Phase) -> float:
    """Mass fraction of a phase in elements whose lines are not measured here (ties go to the
    candidate the spectrum says more about: graphite before boron carbide when B is unseen)."""
    if phase.reference is not None:
        return 0.0
    seen = set(scorer.elements_of(phase))
    return float(sum(c for el, c in phase.composition.items() if el not in seen and el != "H"))


def _support(scorer: _Scorer) -> PhaseIdentification | None:
    """A spectrum whose elements are all nuisance elements (the support film and grid of a
    TEM map, a coating) is the support itself, not a library phase: ``None`` otherwise.

    Scored against the library, such a spectrum has nothing to judge a candidate on but the
    nuisance elements a candidate contains, and any phase of C or Cu fits it (the core counts
    of the carbon film of a helper's TEM map were named "bronze CuSn8 or copper Cu").
    """
    present = list(scorer.rep.present)
    if not present or not set(present) <= scorer.nuisance:
        return None
    what = "support film" if scorer.f.kind == "TEM" else "coating"
    rep = scorer.rep
    return PhaseIdentification("support", f"{what} ({', '.join(present)})", [], [], rep, rep.total_counts)


def _rank(scorer: _Scorer, library: PhaseLibrary, min_p_value: float, top: int) -> PhaseIdentification:
    rep = scorer.rep
    support = _support(scorer)
    if support is not None:
        return support
    groups = library.composition_groups()
    # short-list on intensities taken from the detection fit, then refit the best exactly
    scorer.approximate = rep.fit is not None
    rough = scorer.score_many(list(library))
    rough.sort(key=lambda c: (c.score, _unseen(scorer, c.phase), c.phase.name))
    scorer.approximate = False
    short = {c.phase.name for c in rough[:SHORTLIST]}
    for c in rough[:SHORTLIST]:
        short.update(groups[c.phase.name])
    scored = scorer.score_many([library[n] for n in sorted(short)])
    scored += [c for c in rough if c.phase.name not in short]
    scored.sort(key=lambda c: (round(c.score, 6), _unseen(scorer, c.phase), c.phase.name))
    # merge phases of the same composition into the best-scored of them
    merged: list[Candidate] = []
    taken = set()
    for c in scored:
        if c.phase.name in taken:
            continue
        same = [n for n in groups[c.phase.name] if n != c.phase.name]
        c.same_composition = same
        taken.update(same)
        taken.add(c.phase.name)
        merged.append(c)
    if not merged:
        return PhaseIdentification("unknown", f"unknown ({rep.summary() or 'no elements'})", [], [],
                                   rep, rep.total_counts)  # fmt: skip
    best = merged[0]
    alts = [c.label for c in merged[1:] if c.score - best.score < ALTERNATIVE_DELTA and c.p_value >= min_p_value]
    # no element above the background: no phase is named on lines the detection did not find
    # (a continuum whose shape differs from the model's lets a candidate's own fit find some)
    if best.p_value < min_p_value or not rep.present:
        return PhaseIdentification("unknown", f"unknown ({rep.summary() or 'no elements'})", merged[:top],
                                   alts, rep, rep.total_counts)  # fmt: skip
    fitting = [c for c in merged[1:] if c.p_value >= min_p_value and c.phase.name in short]
    near = indistinguishable(scorer, best, fitting)
    # and those the data do not tell from the best, whatever their predictions (a spectrum
    # halfway between two compositions, or one both fit within the model error); on the χ²
    # difference alone, since a model error shared by both (the matrix's absorption of Al Kα)
    # can leave the truth just under min_p_value while the best passes
    exact = [c for c in merged[1:] if c.phase.name in short and math.isfinite(c.chi2)]
    unresolved = [c for c in exact if c.chi2 - best.chi2 < UNRESOLVED_CHI2 and c not in near]
    members = [best, *near, *unresolved]
    group = [n for c in members for n in (c.phase.name, *c.same_composition)]
    labels = [c.label for c in members]
    name = " or ".join(labels[:GROUP_NAMES_SHOWN])
    if len(labels) > GROUP_NAMES_SHOWN:
        name += f" (or {len(labels) - GROUP_NAMES_SHOWN} more)"
    legend = labels[0] + (f" or {len(labels) - 1} alike" if len(labels) > 1 else "")
    return PhaseIdentification("identified", name, merged[:top], alts, rep, rep.total_counts, group, legend)


def indistinguishable(scorer: _Scorer, best: Candidate, others: list[Candidate]) -> list[Candidate]:
    """The candidates whose predicted line intensities EDS cannot tell from ``best``'s.

    For each other candidate :math:`B`, its χ² is computed against the noiseless measurement
    ``best`` predicts (its fitted scale times its predicted peak-to-background ratios; zero for
    lines it does not have), with this spectrum's uncertainties and the model error: the
    distance :math:`D` is the χ² by which :math:`B` is expected to fit worse when ``best`` is
    true. Those with :math:`D <` :data:`INDISTINGUISHABLE_CHI2` are returned, nearest first.
    Phases whose differences lie in elements EDS does not see (H, Li, Be: kaolinite /
    halloysite, vivianite / triphylite) or within the model error of soft lines (diaspore /
    gibbsite at few counts) so come out together, while the same pair is told apart at
    counts high enough to resolve it.

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.identify import default_library
    >>> from sigma.identify.elements import detect_elements
    >>> from sigma.synthetic import energy_axis, phase_spectrum
    >>> lib = default_library()
    >>> e = energy_axis(1024, 0.02, -0.1)
    >>> y = np.random.default_rng(2).poisson(3e4 * phase_spectrum("NaAlSi3O8", e, beam_energy=15.0))
    >>> sc = _Scorer(detect_elements(y, e, beam_energy=15.0), ())
    >>> albite, *others = sc.score_many([lib[n] for n in ("albite", "jadeite", "quartz")])
    >>> [c.phase.name for c in indistinguishable(sc, albite, others)]
    ['jadeite']
    """
    if best.phase.reference is not None:
        return []
    ra = scorer.rows(best.phase)
    if ra is None:
        return []
    expected = dict(zip(ra.keys, best.scale * ra.pred, strict=True))
    rows, cands = [], []
    for c in others:
        rb = scorer.rows(c.phase)
        if rb is None or c.phase.reference is not None:
            continue
        q = np.array([expected.get(k, 0.0) for k in rb.keys])
        rows.append(dataclasses.replace(rb, q=q, z=q / np.maximum(rb.sigma, 1e-9)))
        cands.append(c)
    dist = [d.chi2 for d in _score_rows(rows)]
    near = sorted((d, i) for i, d in enumerate(dist) if d < INDISTINGUISHABLE_CHI2)
    return [cands[i] for _, i in near]


def identify_spectrum(
    counts,
    energy,
    *,
    beam_energy: float,
    kind: str = "SEM",
    fwhm_mnka: float = 130.0,
    library: PhaseLibrary | None = None,
    nuisance=None,
    min_p_value: float = MIN_P_VALUE,
    top: int = 5,
    elements: ElementReport | None = None,
    offsets: dict | None = None,
    **detect_kw,
) -> PhaseIdentification:
    """Rank library phases for one spectrum of counts and name it (or say it is unknown).

    Parameters
    ----------
    counts, energy : array_like, shape (C,)
        Summed counts and channel energies (keV).
    beam_energy : float
        kV.
    kind : {'SEM', 'TEM'}
    fwhm_mnka : float
        Detector resolution at Mn Kα (eV).
    library : PhaseLibrary, optional
        Default: :func:`~sigma.identify.library.default_library`.
    nuisance : iterable of str, optional
        Elements fitted but not held against a candidate that lacks them (coating, grid).
        Default: Cu and C for TEM (the grid and the support film), none for SEM.
    min_p_value : float
        Below this the best candidate is rejected and the phase is ``'unknown'``.
    top : int
        Candidates kept in the result.
    elements : ElementReport, optional
        A previous :func:`~sigma.identify.elements.detect_elements` result of this spectrum.
    offsets : dict, optional
        Per-element log-sensitivity corrections (see :func:`identify_spectra`).
    **detect_kw
        Passed to :func:`~sigma.identify.elements.detect_elements`.

    Returns
    -------
    PhaseIdentification

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.synthetic import energy_axis, phase_spectrum
    >>> e = energy_axis(2048, 0.01, -0.2)
    >>> y = np.random.default_rng(1).poisson(1e5 * phase_spectrum("FeTiO3", e))
    >>> res = identify_spectrum(y, e, beam_energy=20.0)
    >>> res.status, res.best.phase.name
    ('identified', 'ilmenite')

    The Fe and Ti oxides of other Fe/Ti ratios are told from it (the ratio of two neighbouring K
    lines is better known than either line, :func:`~sigma.identify.scoring.model_covariance`):

    >>> res.group
    ['ilmenite']
    """
    from .._blocks import one_blas_thread

    kind = str(kind).upper()
    if not 0 < min_p_value < 1:
        raise bad_value("min_p_value", min_p_value, "a probability in (0, 1)")
    library = default_library() if library is None else library
    if not isinstance(library, PhaseLibrary) or not len(library):
        raise bad_value("library", library, "a non-empty PhaseLibrary")
    nuisance = DEFAULT_NUISANCE.get(kind, ()) if nuisance is None else tuple(nuisance)
    with one_blas_thread():
        rep = elements if elements is not None else detect_elements(
            counts, energy, beam_energy=beam_energy, kind=kind, fwhm_mnka=fwhm_mnka, **detect_kw)
        if rep.insufficient:
            return _insufficient(rep)
        return _rank(_Scorer(rep, nuisance, offsets), library, min_p_value, top)


def identify_spectra(
    spectra,
    energy,
    *,
    beam_energy: float,
    kind: str = "SEM",
    fwhm_mnka: float = 130.0,
    library: PhaseLibrary | None = None,
    nuisance=None,
    min_p_value: float = MIN_P_VALUE,
    top: int = 5,
    calibrate: bool = False,
    calibration_prior: float = 0.5,
    calibration_iterations: int = 4,
    reports: list[ElementReport] | None = None,
    **detect_kw,
) -> list[PhaseIdentification]:
    """Identify every spectrum of one map, learning element sensitivities across them.

    The energy offset, gain and resolution are refined once, on the sum of the spectra
    (:func:`~sigma.identify.elements.map_calibration`), and used for each of them. Each spectrum
    is named alone (:func:`identify_spectrum`). Then, when ``calibrate``
    and at least three spectra are named with p ≥ 1e-4, a log-sensitivity correction of each
    line family seen in at least two of them is estimated as the precision-weighted mean of
    their log residuals (each spectrum's residuals centred, since its scale is free), shrunk
    towards zero by a prior of standard deviation ``calibration_prior``; every spectrum is
    scored again with those corrections, and this repeats (``calibration_iterations``) until
    no name changes. A systematic error of the physics or the detector for a line (O Kα is
    the usual one) is so learned from the map, while a line seen in one spectrum only is never
    corrected from that spectrum alone.

    Parameters
    ----------
    spectra : array_like, shape (K, C)
        Summed counts per cluster.
    energy : array_like, shape (C,)
    calibrate : bool
    calibration_prior : float
        Prior standard deviation of a log-sensitivity correction.
    calibration_iterations : int
    reports : list of ElementReport, optional
        Element reports of the spectra already computed (they are reused, not redone).
    Other parameters are those of :func:`identify_spectrum`.

    Returns
    -------
    list of PhaseIdentification

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.synthetic import energy_axis, phase_spectrum
    >>> e = energy_axis(1024, 0.02, -0.1)
    >>> rng = np.random.default_rng(0)
    >>> x = np.stack([rng.poisson(3e4 * phase_spectrum(f, e)) for f in ("NaCl", "CaF2")])
    >>> [r.name for r in identify_spectra(x, e, beam_energy=20.0)]
    ['halite NaCl', 'fluorite CaF₂']
    """
    from .._blocks import one_blas_thread

    x = np.asarray(spectra, dtype=np.float64)
    if x.ndim != 2:
        raise bad_value("spectra", getattr(x, "shape", x), "a (K, C) array of summed spectra")
    kind = str(kind).upper()
    library = default_library() if library is None else library
    nuisance = DEFAULT_NUISANCE.get(kind, ()) if nuisance is None else tuple(nuisance)
    with one_blas_thread():
        if reports is None:
            from .elements import map_calibration

            # one energy calibration for all (the detector's), refined on their sum
            if "calibration" not in detect_kw and len(x) > 1:
                cal, window = map_calibration(x.sum(axis=0), energy, beam_energy=beam_energy, kind=kind,
                                              fwhm_mnka=fwhm_mnka, energy_range=detect_kw.get("energy_range"))
                detect_kw = {**detect_kw, "calibration": cal, "energy_range": window}
            reports = [detect_elements(row, energy, beam_energy=beam_energy, kind=kind,
                                       fwhm_mnka=fwhm_mnka, **detect_kw) for row in x]  # fmt: skip
        elif len(reports) != len(x):
            raise bad_value("reports", f"{len(reports)} reports", f"one per spectrum ({len(x)})")
        scorers = [None if r.insufficient else _Scorer(r, nuisance) for r in reports]
        res = [(_insufficient(r) if sc is None else _rank(sc, library, min_p_value, top))
               for r, sc in zip(reports, scorers, strict=True)]  # fmt: skip
        if not calibrate:
            return res
        for _ in range(calibration_iterations):
            logres = [_log_residuals(r, sc) if (sc is not None and r.best is not None
                                                and r.best.p_value >= 1e-6) else {}
                      for r, sc in zip(res, scorers, strict=True)]  # fmt: skip
            if sum(1 for d in logres if len(d) >= 2) < 3:
                break
            offsets = _shared_offsets(logres, calibration_prior)
            new = [(r if sc is None else _rank(sc.with_offsets(offsets), library, min_p_value, top))
                   for r, sc in zip(res, scorers, strict=True)]  # fmt: skip
            changed = any(a.name != b.name for a, b in zip(res, new, strict=True))
            res = new
            if not changed:
                break
        return res

