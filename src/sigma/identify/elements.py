"""Which elements a spectrum holds: net line intensities, their uncertainties and significance.

:func:`detect_elements` fits a spectrum (a cluster's summed counts) with
:class:`~sigma.identify.fitting.SpectrumFitter` — every line family of an element as one
Gaussian set on a background modelled under the lines — and chooses the elements by stepwise
selection on the fit's χ²:

1. **Forward.** Every element not yet in the model is scored by how much adding it would lower
   the χ² (a score test, one vectorised pass over all ~85 candidates); the best is added if its
   significance :math:`z = \\sqrt{\\Delta\\chi^2}` reaches ``min_significance`` (3 by default).
2. **Calibration.** Energy offset, gain and resolution are refined on the strongest lines of
   the commonest elements (up to six found among O, Si, Al, Fe … first, every element found
   fitted alongside; :func:`_anchored_calibration`), sum (pile-up) peaks of the strongest
   lines are added as nuisance terms, and step 1 resumes.
3. **Backward.** An element whose removal raises the χ² by less than ``min_significance²`` is
   dropped. Uncommon elements (Ba, Sr, Zr, Sn, REE La/Ce/Nd …) must reach one more sigma and
   rare ones (other lanthanides, platinum-group metals, Tl …) three more (prior odds: a rare
   element is not named on a misshapen neighbouring peak; a real one gives a large peak).
4. **Overlaps.** For each element kept, every element with a line under its lines (S Kα / Mo Lα /
   Pb Mα, Ti Kβ / V Kα, Ba Lα / Ti Kα, Mn Kβ / Fe Kα …) is tried in its place; when the swap
   fits within ``min_significance²`` of χ², the two cannot be told apart and both are reported
   (``ambiguous_with``).

Net counts and their standard deviations come from the fit's covariance (Poisson variance plus
the model-error terms), so an overlapped line's uncertainty includes the overlap. The classical
criterion, net > 3√B with B the modelled background within ±1 FWHM of the line, is reported
alongside (``above_3_sqrt_b``).
"""

from __future__ import annotations

import logging
import math

import numpy as np

from .._errors import bad_value
from ..xray.lines import _db, fwhm
from . import physics
from ._lsq import score_test
from ._reports import MIN_COUNTS, ElementIntensity, ElementReport, LineIntensity
from .fitting import Calibration, LinearFit, SpectrumFitter

__all__ = ["ElementIntensity", "ElementReport", "LineIntensity", "candidate_elements", "detect_elements",
           "element_rarity", "family_nets", "map_calibration"]

log = logging.getLogger(__name__)

#: χ² difference under which an overlapping element explains a peak as well (5 sigma): line
#: shapes are where forward models are least exact, so ambiguity is reported generously.
AMBIGUITY_CHI2 = 25.0
#: How commonly an element occurs in rocks and engineering materials (0 most common); used
#: only to choose which of two elements a spectrum cannot tell apart is named first.
#: Elements that are geochemical traces (Ga, Ge, Rb, Cs, Hf …) or halogens and gases that hardly
#: ever make a phase of their own (Br, I, Ar) are in the rare tier with the heavy lanthanides.
_COMMON = ("O Si Al Fe Ca Na K Mg Ti P Mn C S Cl F N Cu Zn Cr Ni Pb",
           "Ba Sr Zr Sn Ag Au W Mo Co V Nb Ta Ce La Nd Y Bi Sb As Hg Pt B Te U Th Be")


#: Extra significance (sigma) asked of an element by its rarity tier (0 common, 1, 2 rare).
RARITY_EXTRA_SIGMA = (0.0, 1.0, 3.0)
#: Relative χ² gain within which two elements explain a peak equally well while the energy
#: calibration and peak shapes are still unrefined (forward selection takes the commoner).
TIE_FRACTION = 0.02
#: Factor on the peak-shape model error under which an uncommon or rare element must still be
#: significant: its evidence must not be the misfit of a neighbouring major peak's shape.
RARE_SHAPE_FACTOR = 3.0


def element_rarity(element: str) -> int:
    """0 for rock-forming and common engineering elements, 1 for common minor ones, 2 else.

    Examples
    --------
    >>> element_rarity("Al"), element_rarity("Ba"), element_rarity("Tb")
    (0, 1, 2)
    """
    for tier, names in enumerate(_COMMON):
        if element in names.split():
            return tier
    return len(_COMMON)


def candidate_elements(beam_energy: float, energy_range: tuple[float, float]) -> list[str]:
    """Elements with at least one excited family whose alpha line lies in ``energy_range``.

    Examples
    --------
    >>> cands = candidate_elements(20.0, (0.2, 20.0))
    >>> "Fe" in cands, "H" in cands, "Kr" in cands
    (True, False, False)
    """
    out = []
    for el in _db():
        if el in physics.EXCLUDED_ELEMENTS:
            continue
        z, _ = physics.element_data(el)
        if z < 5 or z > 92:
            continue
        for fam, lines in physics.families(el).items():
            e_a = lines[physics.alpha_line(el, fam)][0]
            if energy_range[0] <= e_a <= energy_range[1] and physics.family_edge(el, fam) < beam_energy:
                out.append(el)
                break
    return sorted(out, key=lambda s: physics.element_data(s)[0])


class _Selector:
    """Stepwise selection state on one fitter."""

    def __init__(self, fitter: SpectrumFitter, candidates, z_min: float, max_elements: int):
        self.f = fitter
        self.candidates = [c for c in candidates if fitter.families_in_range(c)]
        self.z2 = z_min**2
        self.z_min = z_min
        self.max_elements = max_elements
        self.sum_peaks: list = []

    def threshold(self, element: str) -> float:
        """χ² gain an element must bring: ``min_significance`` squared, raised for uncommon
        elements (+1σ) and rare ones (+3σ) — prior odds, so that a rare element is not named
        on a misshapen neighbouring peak."""
        return (self.z_min + RARITY_EXTRA_SIGMA[element_rarity(element)]) ** 2

    def fit(self, elements, **kw) -> LinearFit:
        return self.f.fit(elements, sum_peaks=self.sum_peaks, **kw)

    def bpk(self, fit: LinearFit):
        return self.f.background_per_kev_function(fit.background)

    def forward(self, chosen: list[str], limit: int | None = None,
                candidates=None) -> tuple[list[str], LinearFit]:
        """Add elements while one lowers χ² by at least ``min_significance²``.

        Candidates are ranked by the score test, then the best few are refitted with the
        current weights and the one with the largest real χ² drop is taken (the score test is
        a linear approximation that over-rates columns resembling a mis-shaped peak).
        """
        limit = self.max_elements if limit is None else min(limit, self.max_elements)
        fit = self.fit(chosen)
        while len(chosen) < limit:
            bpk = self.bpk(fit)
            names, cols = [], []
            for el in self.candidates if candidates is None else candidates:
                if el in chosen:
                    continue
                col, _, _ = self.f.element_column(el, bpk)
                if col is not None and col.any():
                    names.append(el)
                    cols.append(col)
            if not cols:
                break
            gain = score_test(fit, self.f.y, np.column_stack(cols))
            margin = gain - np.array([self.threshold(n) for n in names])
            order = [int(i) for i in np.argsort(-margin)[:3] if margin[i] >= 0]
            gains = {}
            for i in order:
                trial = self.fit([*chosen, names[i]], weights=fit.weights, background_per_kev=bpk)
                g = fit.chi2 - trial.chi2 - self.threshold(names[i])
                if g >= 0 and trial.coef[trial.index(names[i])] > 0:
                    gains[names[i]] = g
            if not gains:
                break
            # explanations of one peak within TIE_FRACTION of the best are not told apart by a
            # fit whose calibration and line shapes are not yet refined: the commoner is taken
            # (Al Ka, not Tm Ma 24 eV below it, before the calibration is refined on it)
            top = max(gains.values())
            tied = [n for n, g in gains.items() if g >= top - TIE_FRACTION * (top + self.threshold(n))]
            best = min(tied, key=lambda n: (element_rarity(n), -gains[n]))
            chosen = [*chosen, best]
            fit = self.fit(chosen)
        return chosen, fit

    def removal_gain(self, chosen, fit, el) -> float:
        """χ² increase when ``el`` (its amplitude and deviation terms) is taken out of ``fit``.

        With the fit's weights and penalties fixed the objective is quadratic, so the increase
        is exactly :math:`c_B^T (\\Sigma_{BB})^{-1} c_B` over the element's block :math:`B` of
        coefficients and covariance: no refit (the background's non-negativity aside).
        """
        block = [i for i, n in enumerate(fit.names) if n == el or n.startswith(f"dev:{el}:")]
        c = fit.coef[block]
        cov = fit.cov[np.ix_(block, block)]
        return float(c @ np.linalg.pinv(cov, rcond=1e-10, hermitian=True) @ c)

    def robust_removal_gain(self, chosen, fit, el) -> float:
        """:meth:`removal_gain` in a refit whose peak-shape model error is
        :data:`RARE_SHAPE_FACTOR` times larger (the weights of ``fit`` otherwise kept)."""
        nb = fit.n_background
        peaks = np.maximum(fit.columns[:, nb:] @ fit.coef[nb:], 0.0)
        extra = (RARE_SHAPE_FACTOR**2 - 1.0) * (self.f.shape_error * peaks) ** 2
        w = 1.0 / (1.0 / fit.weights + extra)
        sub = self.fit(chosen, weights=w, background_per_kev=self.bpk(fit))
        return self.removal_gain(chosen, sub, el)

    def gains(self, chosen, fit) -> dict:
        """χ² each chosen element brings; an uncommon or rare one is held to the smaller of its
        gain and its gain under a larger peak-shape error (:meth:`robust_removal_gain`)."""
        out = {}
        for el in chosen:
            g = self.removal_gain(chosen, fit, el)
            if element_rarity(el) > 0 and g >= self.threshold(el):
                g = min(g, self.robust_removal_gain(chosen, fit, el))
            out[el] = g
        return out

    def backward(self, chosen: list[str], fit: LinearFit) -> tuple[list[str], LinearFit]:
        while chosen:
            gains = self.gains(chosen, fit)
            # an element fitted with a negative amplitude is never kept
            for el in chosen:
                if fit.coef[fit.index(el)] <= 0:
                    gains[el] = -np.inf
            margins = {el: g - self.threshold(el) for el, g in gains.items()}
            worst = min(margins, key=margins.get)
            if margins[worst] >= 0:
                break
            chosen = [e for e in chosen if e != worst]
            fit = self.fit(chosen)
        return chosen, fit


def _anchored_calibration(fitter: SpectrumFitter, sel: _Selector) -> tuple[list[str], LinearFit]:
    """Refine the energy calibration on the strongest lines of common elements, then return the
    forward selection on the refined axis.

    The calibration is anchored on the commonest elements found (rarity tier 0 when the
    spectrum has any, else tier 1, else any; :func:`element_rarity`):
    before the axis is refined, a rare element whose many lines (Tm M and L, Br L and K) each
    catch part of a shifted major peak can out-score the element that really made the peak, and
    an axis refined on it is then wrong for every line. Rare elements are looked for afterwards.

    A common element can also take the peak of an uncommon one (Si Kα on W Mα, 35 eV above),
    and the axis refined on it is then shifted for every other line. So when that refinement
    moves the axis by more than its prior (10 eV, 0.2 % gain), two other hypotheses are tried:
    the axis as given, with every element selected on it, and that axis refined on the
    strongest of those elements (every one fitted alongside); the hypothesis whose full
    selection costs least (χ² plus the elements' thresholds and the calibration's prior,
    :func:`_calibration_cost`) is kept.
    """
    start = fitter.calibration
    chosen, fit, tier = _tier_anchored(fitter, sel)
    if tier is None:
        return chosen, fit
    cal_a = fitter.calibration
    if abs(cal_a.shift - start.shift) <= 0.01 and abs(cal_a.gain - start.gain) <= 0.002:
        return chosen, fit
    best = (_calibration_cost(sel, chosen, fit, start, cal_a), cal_a, chosen, fit)
    fitter.set_calibration(start)
    chosen_n, fit_n = sel.forward([])
    hyps = [(_calibration_cost(sel, chosen_n, fit_n, start, start), start, chosen_n, fit_n)]
    if chosen_n:
        anchors = sorted(chosen_n, key=lambda el: -fit_n.coef[fit_n.index(el)])[:6]
        fitter.refine_calibration(chosen_n, anchors=anchors)
        chosen_r, fit_r = sel.forward(chosen_n)
        hyps.append((_calibration_cost(sel, chosen_r, fit_r, start, fitter.calibration), fitter.calibration,
                     chosen_r, fit_r))
    log.debug("calibration: anchored on common elements %.1f %s; as given %.1f; refined on all %s",
              best[0], cal_a, hyps[0][0], [(round(h[0], 1), h[1]) for h in hyps[1:]])
    for h in hyps:
        if h[0] < best[0]:
            best = h
    fitter.set_calibration(best[1])
    return best[2], best[3]


def _calibration_cost(sel: _Selector, chosen, fit: LinearFit, start: Calibration, cal: Calibration) -> float:
    """χ² of a selection's fit, plus the thresholds its elements had to pass and the Gaussian
    prior of its calibration about ``start`` (the priors of :meth:`SpectrumFitter.refine_calibration`)."""
    prior = ((cal.shift - start.shift) / 0.01) ** 2 + ((cal.gain - start.gain) / 0.002) ** 2
    return float(fit.chi2 + sum(sel.threshold(el) for el in chosen) + prior)


def _tier_anchored(fitter: SpectrumFitter, sel: _Selector):
    """The calibration refined on the commonest tier of elements found (see
    :func:`_anchored_calibration`); returns the selection, its fit and the tier (None: nothing found)."""
    for tier in range(len(RARITY_EXTRA_SIGMA)):
        anchors = [c for c in sel.candidates if element_rarity(c) <= tier]
        chosen, fit = sel.forward([], limit=6, candidates=anchors)
        if chosen:
            break
    else:
        return chosen, fit, None
    fitter.refine_calibration(chosen)
    chosen, fit = sel.forward(chosen)
    # read from the strongest lines of common elements, every element found fitted alongside:
    # an unmodelled neighbour of an anchor line (Bi M by S K in a map's sum) would pull it
    common = [el for el in chosen if element_rarity(el) <= tier]
    anchors = sorted(common, key=lambda el: -fit.coef[fit.index(el)])[:6]
    fitter.refine_calibration(chosen, anchors=anchors)
    chosen, fit = sel.forward(chosen)
    return chosen, fit, tier


def _overlapping(fitter: SpectrumFitter, el: str, others, bpk) -> list[str]:
    """Candidates whose tied column overlaps ``el``'s strongly (weighted cosine > 0.5)."""
    col, _, _ = fitter.element_column(el, bpk)
    if col is None:
        return []
    w = 1.0 / fitter.initial_variance()
    out = []
    for o in others:
        oc, _, _ = fitter.element_column(o, bpk)
        if oc is None:
            continue
        num = float(np.sum(w * col * oc))
        den = math.sqrt(float(np.sum(w * col * col)) * float(np.sum(w * oc * oc)))
        if den > 0 and num / den > 0.5:
            out.append(o)
    return out


def _sum_peak_terms(fitter: SpectrumFitter, fit: LinearFit, n_top: int = 3) -> list:
    """Pile-up peaks of the strongest alpha lines (pairs, self-pairs included) inside the window."""
    lines = []
    for el, (_, ratios) in fit.family_ratios.items():
        a = fit.coef[fit.index(el)]
        for fam, r in ratios.items():
            e = fitter.alpha_energy(el, fam)
            lines.append((a * r, f"{physics.alpha_line(el, fam)}", e))
    lines.sort(reverse=True)
    top = lines[:n_top]
    out = []
    cal = fitter.calibration
    for i, (_, n1, e1) in enumerate(top):
        for _, n2, e2 in top[i:]:
            e_s = e1 + e2
            if fitter.in_range(e_s):
                f_s = math.hypot(float(fwhm(e1, cal.fwhm_mnka)), float(fwhm(e2, cal.fwhm_mnka)))
                out.append((f"{n1}+{n2}", e_s, f_s))
    return out


def detect_elements(
    counts,
    energy,
    *,
    beam_energy: float,
    kind: str = "SEM",
    fwhm_mnka: float = 130.0,
    min_significance: float = 3.0,
    candidates=None,
    refine_calibration: bool = True,
    max_elements: int = 16,
    min_counts: float = MIN_COUNTS,
    energy_range: tuple[float, float] | None = None,
    shape_error: float = 0.03,
    ambiguity_chi2: float = AMBIGUITY_CHI2,
    calibration: Calibration | None = None,
    offset=None,
) -> ElementReport:
    """Find the elements of one spectrum, with net counts, uncertainties and significance.

    Parameters
    ----------
    counts : array_like, shape (C,)
        Counts (a cluster's summed spectrum; not a mean).
    energy : array_like, shape (C,)
        Channel energies in keV.
    beam_energy : float
        kV.
    kind : {'SEM', 'TEM'}
    fwhm_mnka : float
        Detector resolution at Mn Kα (eV), the starting value of the refinement.
    min_significance : float
        An element is kept when removing it raises the fit's χ² by at least this squared
        (3 → the usual "3 sigma").
    candidates : iterable of str, optional
        Elements to search (default: every element with a line in range,
        :func:`candidate_elements`).
    refine_calibration : bool
        Refine energy offset, gain and FWHM on the elements found.
    max_elements : int
    min_counts : float
        Below this many counts the report is empty with ``insufficient=True``.
    energy_range : (float, float), optional
        Fit window in keV.
    shape_error : float
        Model error of the peak shapes (fraction of the peak counts per channel).
    ambiguity_chi2 : float
        An overlapping element that fits within this χ² of the chosen one is reported in
        ``ambiguous_with``.
    calibration : Calibration, optional
        Energy offset, gain and FWHM found elsewhere (:func:`map_calibration` on the whole
        map's summed spectrum); used as is, without refinement.
    offset : array_like, shape (C,), optional
        Known expected counts of another origin inside ``counts``, such as the neighbouring
        phases' share of a cluster's rim pixels (see
        :class:`~sigma.identify.fitting.SpectrumFitter`): their elements are not looked for,
        their noise is kept, and the net counts are those of the rest.

    Returns
    -------
    ElementReport

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.synthetic import energy_axis, phase_spectrum
    >>> e = energy_axis(2048, 0.01, -0.2)
    >>> y = np.random.default_rng(0).poisson(2e5 * phase_spectrum("FeTiO3", e))
    >>> rep = detect_elements(y, e, beam_energy=20.0)
    >>> sorted(rep.present)
    ['Fe', 'O', 'Ti']

    An inclusion's spectrum with 15 % of its host's counts (quartz) from its rim pixels: with
    the host's share as a known offset, Si is no longer one of its elements.

    >>> host = 3e4 * phase_spectrum("SiO2", e)
    >>> y = np.random.default_rng(1).poisson(2e5 * phase_spectrum("FeTiO3", e) + host)
    >>> "Si" in detect_elements(y, e, beam_energy=20.0).present
    True
    >>> sorted(detect_elements(y, e, beam_energy=20.0, offset=host).present)
    ['Fe', 'O', 'Ti']
    """
    from .._blocks import one_blas_thread

    # the fits solve many small (channels x ~50) systems: BLAS threads only add overhead
    with one_blas_thread():
        return _detect(counts, energy, beam_energy=beam_energy, kind=kind, fwhm_mnka=fwhm_mnka,
                       min_significance=min_significance, candidates=candidates,
                       refine_calibration=refine_calibration, max_elements=max_elements,
                       min_counts=min_counts, energy_range=energy_range, shape_error=shape_error,
                       ambiguity_chi2=ambiguity_chi2, calibration=calibration, offset=offset)


def map_calibration(
    counts, energy, *, beam_energy: float, kind: str = "SEM", fwhm_mnka: float = 130.0,
    energy_range: tuple[float, float] | None = None, min_significance: float = 3.0,
) -> tuple[Calibration, tuple[float, float]]:
    """Energy offset, gain and FWHM refined on one spectrum with many counts (a map's sum).

    The calibration belongs to the detector, not to a phase: found once on the summed spectrum
    of every cluster (the most counts there are), it serves every cluster's fit, which then
    share their line profiles (one set of columns per map instead of one per cluster).

    Returns
    -------
    (Calibration, (float, float))
        The calibration and the fit window (keV) to use for the clusters.

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.synthetic import energy_axis, phase_spectrum
    >>> e = energy_axis(2048, 0.01, -0.2)
    >>> y = np.random.default_rng(0).poisson(2e5 * phase_spectrum("FeTiO3", e))
    >>> cal, window = map_calibration(y, e, beam_energy=20.0)
    >>> abs(cal.shift) < 0.005 and abs(cal.gain - 1) < 0.001, window[1]
    (True, 20.0)
    """
    from .._blocks import one_blas_thread

    y = np.asarray(counts, dtype=np.float64)
    fitter = SpectrumFitter(y, energy, beam_energy=beam_energy, kind=kind, fwhm_mnka=fwhm_mnka,
                            energy_range=energy_range)  # fmt: skip
    window = (fitter.e_lo, fitter.e_hi)
    if float(y.sum()) < MIN_COUNTS:
        return fitter.calibration, window
    with one_blas_thread():
        cands = candidate_elements(fitter.beam_energy, window)
        _anchored_calibration(fitter, _Selector(fitter, cands, min_significance, 16))
    return fitter.calibration, window


def _detect(counts, energy, *, beam_energy, kind, fwhm_mnka, min_significance, candidates,
            refine_calibration, max_elements, min_counts, energy_range, shape_error, ambiguity_chi2,
            calibration=None, offset=None):
    y = np.asarray(counts, dtype=np.float64)
    total = float(np.nansum(y)) - (0.0 if offset is None else float(np.sum(offset)))
    if not np.isfinite(min_significance) or min_significance <= 0:
        raise bad_value("min_significance", min_significance, "a positive number of standard deviations")
    fitter = SpectrumFitter(y, energy, beam_energy=beam_energy, kind=kind, fwhm_mnka=fwhm_mnka,
                            energy_range=energy_range, shape_error=shape_error, offset=offset)  # fmt: skip
    if calibration is not None:
        fitter.set_calibration(calibration)
        refine_calibration = False
    if total < min_counts:
        return ElementReport([], total, fitter.calibration, min_significance, [], fitter, None,
                             insufficient=True, min_counts=min_counts)  # fmt: skip
    if candidates is None:
        candidates = candidate_elements(fitter.beam_energy, (fitter.e_lo, fitter.e_hi))
    else:
        candidates = [str(c) for c in candidates]
        for c in candidates:
            physics.element_data(c)
    sel = _Selector(fitter, candidates, min_significance, max_elements)
    # the strongest peaks first: calibrate on them before weak lines are looked for, since a
    # 10 eV offset on a peak of a million counts looks like a neighbouring element
    if refine_calibration:
        chosen, fit = _anchored_calibration(fitter, sel)
    else:
        chosen, fit = sel.forward([], limit=3)
    if chosen:
        fit = sel.fit(chosen)
        sel.sum_peaks = _sum_peak_terms(fitter, fit)
        chosen, fit = sel.backward(chosen, sel.fit(chosen))
        chosen, fit = sel.forward(chosen)
        chosen, fit = sel.backward(chosen, fit)
        chosen, fit = _prefer_better_overlaps(fitter, sel, chosen, fit)
        chosen, fit = sel.backward(chosen, fit)
    # drop sum peaks fitted negative (they are nuisance terms, never subtracted as negative)
    if sel.sum_peaks:
        keep = [s for s in sel.sum_peaks if fit.coef[fit.index(f"sum:{s[0]}")] > 0]
        if len(keep) != len(sel.sum_peaks):
            sel.sum_peaks = keep
            fit = sel.fit(chosen)
    return _report(fitter, sel, chosen, fit, total, min_significance, min_counts, ambiguity_chi2)


def _prefer_better_overlaps(fitter, sel, chosen, fit):
    """Swap an element for an overlapping one that fits better (forward selection is greedy)."""
    for el in list(chosen):
        bpk = fitter.background_per_kev_function(fit.background)
        others = [c for c in sel.candidates if c not in chosen]
        # compared with the prior odds of the elements (their thresholds), as in the selection
        best = (fit.chi2 + sel.threshold(el), None)
        for o in _overlapping(fitter, el, others, bpk):
            swapped = [o if x == el else x for x in chosen]
            sub = sel.fit(swapped, weights=fit.weights, background_per_kev=bpk)
            if sub.chi2 + sel.threshold(o) < best[0] and sub.coef[sub.index(o)] > 0:
                best = (sub.chi2 + sel.threshold(o), o)
        if best[1] is not None:
            chosen = [best[1] if x == el else x for x in chosen]
            fit = sel.fit(chosen)
    return chosen, fit


def family_nets(fit: LinearFit, element: str) -> dict[str, tuple[float, float]]:
    """``{family: (net counts, variance)}`` of an element in a fit (tied part + deviation).

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.synthetic import energy_axis, phase_spectrum
    >>> e = energy_axis(1024, 0.02, -0.1)
    >>> y = np.random.default_rng(0).poisson(3e4 * phase_spectrum("Fe2O3", e))
    >>> fit = SpectrumFitter(y, e, beam_energy=20.0).fit(["Fe", "O"])
    >>> sorted(family_nets(fit, "Fe"))
    ['K', 'L']
    """
    prim, ratios = fit.family_ratios[element]
    i = fit.index(element)
    a, var_a = fit.coef[i], fit.cov[i, i]
    out = {}
    for fam, r in ratios.items():
        name = f"dev:{element}:{fam}"
        if fam != prim and name in fit.names:
            j = fit.index(name)
            net = r * a + fit.coef[j]
            var = r * r * var_a + fit.cov[j, j] + 2 * r * fit.cov[i, j]
        else:
            net, var = r * a, r * r * var_a
        out[fam] = (float(net), float(max(var, 0.0)))
    return out


def _report(fitter, sel, chosen, fit, total, min_significance, min_counts,
            ambiguity_chi2) -> ElementReport:
    bpk = fitter.background_per_kev_function(fit.background)
    e = fitter.energies()
    out = []
    for el in chosen:
        prim, ratios = fit.family_ratios[el]
        i = fit.index(el)
        a, var_a = fit.coef[i], fit.cov[i, i]
        lines = []
        for fam, (net, var) in family_nets(fit, el).items():
            e_a = fitter.alpha_energy(el, fam)
            half = float(fwhm(e_a, fitter.calibration.fwhm_mnka))
            win = np.abs(e - e_a) <= half
            lines.append(LineIntensity(physics.alpha_line(el, fam), e_a, float(net),
                                       math.sqrt(max(var, 0.0)), float(fit.background[win].sum())))
        gain = sel.removal_gain(chosen, fit, el)
        e_prim = fitter.alpha_energy(el, prim)
        out.append(ElementIntensity(el, float(a), math.sqrt(max(var_a, 0.0)),
                                    math.sqrt(max(gain, 0.0)), float(a / bpk(e_prim)), lines))
    # overlaps: can another element replace this one?
    others = [c for c in sel.candidates if c not in chosen]
    for item in out:
        alts = []
        for o in _overlapping(fitter, item.element, others, bpk):
            swapped = [o if x == item.element else x for x in chosen]
            sub = sel.fit(swapped, weights=fit.weights, background_per_kev=bpk)
            # the prior odds count here as in the selection: a rare element is listed only when
            # it explains the peaks nearly as well as the common one *and* its rarity allows it
            prior = sel.threshold(o) - sel.threshold(item.element)
            if sub.chi2 - fit.chi2 + prior < ambiguity_chi2 and sub.coef[sub.index(o)] > 0:
                alts.append((sub.chi2, o))
        item.ambiguous_with = [o for _, o in sorted(alts)]
        # of elements the spectrum cannot tell apart, name the commoner one first
        group = [item.element, *item.ambiguous_with]
        first = min(group, key=lambda el: (element_rarity(el), group.index(el)))
        if first != item.element:
            item.ambiguous_with = [el for el in group if el != first]
            item.element = first
    out.sort(key=lambda it: -it.net)
    return ElementReport(out, total, fitter.calibration, min_significance,
                         [s[0] for s in sel.sum_peaks], fitter, fit, min_counts=min_counts,
                         sum_peak_terms=list(sel.sum_peaks))  # fmt: skip
