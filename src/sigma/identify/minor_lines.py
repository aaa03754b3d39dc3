"""Lines of elements that only a few pixels carry: a second look in each cluster's spectrum.

When a file names no elements, the feature lines are proposed from peaks of the map's sum
spectrum (:func:`sigma.xray.propose_lines_from_spectrum`). An element that only a minority
phase carries (a few gold particles on a film, monazite grains in a granite, a Pb-bearing
inclusion) may make no peak there: the rest of the map's counts bury it. Once the pixels are
clustered, the same counts summed per cluster concentrate it. :func:`review_lines` runs the
identification's element detection (:func:`~sigma.identify.detect_elements`: background
modelled, every line family, overlaps, significance) on each cluster's summed spectrum and
returns the lines of elements found there that no feature line covers yet — with the counts,
significance and cluster that justify each, so a run can say why it added them.

The same fits check the proposal itself: a proposed line whose element no cluster shows, while
a line of an element that some cluster does show lies within one FWHM of it, mapped another
element's peak (the sum-spectrum proposal takes Cu Kβ for Os Lα, Ti Kβ for V Kα, Ca Kβ for
Sc Kα, Au Mα for Nb Lα); :func:`review_lines` reports it for removal with the line that
explains its peak.

Examples
--------
A film (C, O, Cu of the grid) with 2 % of pixels of titania: on 40 000 counts of film the 3000
counts of the titania pixels make a clear peak in their own cluster's spectrum.

>>> import numpy as np
>>> from sigma.synthetic import energy_axis, phase_spectrum
>>> e = energy_axis(1024, 0.02, -0.2)
>>> rng = np.random.default_rng(0)
>>> film = rng.poisson(4e4 * phase_spectrum({"C": 0.9, "O": 0.1}, e, kind="TEM", beam_energy=200))
>>> tio2 = rng.poisson(3e3 * phase_spectrum("TiO2", e, kind="TEM", beam_energy=200))
>>> rev = review_lines(np.stack([film, tio2]), [0, 1], [980, 20], e, feature_lines=["C_Ka", "O_Ka",
...                    "Cu_Ka"], beam_energy=200.0, kind="TEM")
>>> [(a.line, a.cluster) for a in rev.added]
[('Ti_Ka', 1)]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from .._errors import bad_value

log = logging.getLogger(__name__)

__all__ = ["AddedLine", "DETECT_SIGNIFICANCE", "LineReview", "MIN_SIGNIFICANCE", "RemovedLine", "review_lines"]

#: Significance (standard deviations, :attr:`ElementIntensity.significance`) an element needs in
#: one cluster's spectrum before its line is added to the features: stricter than the 3 of
#: identification, since each cluster of each map is another chance of a false element.
MIN_SIGNIFICANCE = 5.0
#: Significance at which an element counts as shown by a cluster (identification's usual 3).
DETECT_SIGNIFICANCE = 3.0
#: Lines lighter than this within their family (eXSpy weights) never explain another's peak.
_MIN_WEIGHT = 0.05


@dataclass
class AddedLine:
    """A feature line added because one cluster's spectrum shows its element.

    Attributes
    ----------
    line : str
        The line added: the element's line family measured best (largest net counts over
        their standard deviation) in that cluster's fit.
    element : str
    cluster : int
        The cluster whose summed spectrum shows it most significantly.
    pixels : int
        Pixels of that cluster.
    net, sigma : float
        Net counts (and their standard deviation) of the element's strongest family there.
    significance : float
        :math:`\\sqrt{\\Delta\\chi^2}` of removing the element from that cluster's fit.
    ambiguous_with : list of str
        Elements that explain the same peaks about as well.

    Examples
    --------
    >>> AddedLine("Au_La", "Au", 3, 40, 900.0, 40.0, 21.5).to_dict()["significance"]
    21.5
    """

    line: str
    element: str
    cluster: int
    pixels: int
    net: float
    sigma: float
    significance: float
    ambiguous_with: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"line": self.line, "element": self.element, "cluster": int(self.cluster),
                "pixels": int(self.pixels), "net_counts": round(float(self.net), 1),
                "sigma": round(float(self.sigma), 1), "significance": round(float(self.significance), 2),
                "ambiguous_with": list(self.ambiguous_with)}  # fmt: skip


@dataclass
class RemovedLine:
    """A proposed feature line whose peak belongs to another element's line.

    Attributes
    ----------
    line, element : str
        The line removed and its element (significant in no cluster's fit).
    explained_by : str
        The line, of an element some cluster shows, within one FWHM of it.
    cluster : int
        The cluster where that element is most significant.
    significance : float
        Its significance there.

    Examples
    --------
    >>> RemovedLine("Os_La", "Os", "Cu_Kb", 0, 80.0).to_dict()["explained_by"]
    'Cu_Kb'
    """

    line: str
    element: str
    explained_by: str
    cluster: int
    significance: float

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"line": self.line, "element": self.element, "explained_by": self.explained_by,
                "cluster": int(self.cluster), "significance": round(float(self.significance), 2)}


@dataclass
class LineReview:
    """What the clusters' spectra say about a feature list (:func:`review_lines`).

    Attributes
    ----------
    added : list of AddedLine
    removed : list of RemovedLine
    elements : dict
        ``{cluster id: elements significant in its spectrum}``.
    too_weak : list of AddedLine
        Lines found but not added, too weak per pixel to map (set by the caller, e.g. the
        pipeline's ``features.min_line_counts``).

    Examples
    --------
    >>> LineReview([], [], {0: ["Fe", "O"]}).lines(["Fe_Ka", "O_Ka"])
    ['Fe_Ka', 'O_Ka']
    """

    added: list[AddedLine]
    removed: list[RemovedLine]
    elements: dict[int, list[str]]
    too_weak: list[AddedLine] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the feature list changes."""
        return bool(self.added or self.removed)

    def lines(self, feature_lines) -> list[str]:
        """``feature_lines`` without the removed lines, with the added ones after them."""
        gone = {r.line for r in self.removed}
        return [x for x in feature_lines if x not in gone] + [a.line for a in self.added]

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"added": [a.to_dict() for a in self.added], "removed": [r.to_dict() for r in self.removed],
                "too_weak": [a.to_dict() for a in self.too_weak],
                "elements_by_cluster": {str(k): list(v) for k, v in self.elements.items()}}


def _element(line: str) -> str:
    return str(line).split("_")[0]


def _best_line(el, have, fwhm_mnka: float, energy_range) -> tuple[str, float] | None:
    """The element's line family measured best in the cluster (largest net / sigma of the fit:
    background and overlaps accounted for) among those whose α line is inside ``energy_range``
    and not within one FWHM of an α line of a mapped element (``have``), with that net / sigma.

    A family on a mapped element's α line is no evidence of a new element: on a spectrum of
    10⁵–10⁶ counts the mapped element's misshapen peak lets an element that shares it look
    significant (Zr Lα on Pt Mα in a real FePt map, with 105 ± 68 counts in Zr Kα).
    """
    from ..xray import fwhm, is_xray_line, line_energy, lines_near_energy

    def usable(line):
        en = line_energy(line)
        if energy_range is not None and not energy_range[0] <= en <= energy_range[1]:
            return False
        near = lines_near_energy(en, 2 * float(fwhm(en, fwhm_mnka)), only_major=True)
        return not any(_element(n) in have and _element(n) != el.element for n, _, _ in near)

    fams = [ln for ln in el.lines if ln.sigma > 0 and is_xray_line(ln.line) and usable(ln.line)]
    if not fams:
        return None
    best = max(fams, key=lambda ln: ln.net / ln.sigma)
    return best.line, best.net / best.sigma


def review_lines(
    spectra,
    cluster_ids,
    pixels,
    energy,
    *,
    feature_lines,
    beam_energy: float,
    kind: str = "SEM",
    fwhm_mnka: float = 130.0,
    min_significance: float = MIN_SIGNIFICANCE,
    energy_range: tuple[float, float] | None = None,
) -> LineReview:
    """Check a feature list against the elements significant in each cluster's spectrum.

    Adds the line of each element significant (``min_significance``) in some cluster that no
    feature line covers, through one of its line families whose α line is not within one FWHM
    of a mapped element's α line and whose own net counts are significant too (net over their
    standard deviation ≥ ``min_significance``; the best measured such family is the line); removes each feature line whose element no cluster shows (at
    :data:`DETECT_SIGNIFICANCE`) while a line of an element some cluster does show lies within
    one FWHM of it (the peak is that line's). Lines outside the fit window are kept as they are.

    Parameters
    ----------
    spectra : array_like, shape (K, C)
        Summed counts of each cluster (not means).
    cluster_ids : sequence of int
        The ids of the rows of ``spectra``.
    pixels : sequence of int
        Pixels in each cluster (reported with the line).
    energy : array_like, shape (C,)
        Channel energies in keV.
    feature_lines : sequence of str
        Lines used as features; their elements are not looked for again, nor an element
        reported as ambiguous with one of them (the same peaks, already mapped).
    beam_energy : float
        kV.
    kind : {'SEM', 'TEM'}
    fwhm_mnka : float
        Detector resolution at Mn Kα (eV).
    min_significance : float
        Standard deviations an element needs in one cluster to be added (:data:`MIN_SIGNIFICANCE`).
    energy_range : (float, float), optional
        keV; lines outside are not added.

    Returns
    -------
    LineReview
        ``added``: one per new element, from the cluster where it is most significant,
        strongest first; ``removed``: the lines whose peak another element's line explains.

    Examples
    --------
    Ti Kβ (4.93 keV) proposed as V Kα (4.95 keV): no cluster shows V, titania shows Ti.

    >>> import numpy as np
    >>> from sigma.synthetic import energy_axis, phase_spectrum
    >>> e = energy_axis(1024, 0.02, -0.2)
    >>> y = np.random.default_rng(1).poisson(2e4 * phase_spectrum("TiO2", e))
    >>> rev = review_lines(y[None], [0], [100], e, feature_lines=["O_Ka", "Ti_Ka", "V_Ka"], beam_energy=20.0)
    >>> [(r.line, r.explained_by) for r in rev.removed], rev.lines(["O_Ka", "Ti_Ka", "V_Ka"])
    ([('V_Ka', 'Ti_Kb')], ['O_Ka', 'Ti_Ka'])
    """
    from ..xray import fwhm, line_energy, line_weight, lines_near_energy
    from .elements import detect_elements, map_calibration

    y = np.asarray(spectra, dtype=np.float64)
    ids = [int(i) for i in cluster_ids]
    npix = [int(n) for n in pixels]
    if y.ndim != 2 or y.shape[0] != len(ids) or len(npix) != len(ids):
        raise bad_value("spectra", y.shape, f"one summed spectrum per cluster id ({len(ids)} ids and pixel counts)")
    if not np.isfinite(min_significance) or min_significance <= 0:
        raise bad_value("min_significance", min_significance, "a positive number of standard deviations")
    e = np.asarray(energy, dtype=np.float64)
    feature_lines = [str(x) for x in feature_lines]
    if not len(ids):
        return LineReview([], [], {})
    # one calibration for the detector, from the most counts there are (as identification does)
    cal, window = map_calibration(y.sum(0), e, beam_energy=beam_energy, kind=kind, fwhm_mnka=fwhm_mnka)
    shown: dict[str, tuple[int, float]] = {}  # element -> (cluster, significance), its best
    reports = []
    for row, cid in zip(y, ids, strict=True):
        rep = detect_elements(row, e, beam_energy=beam_energy, kind=kind, fwhm_mnka=fwhm_mnka,
                              min_significance=DETECT_SIGNIFICANCE, calibration=cal, energy_range=window)
        reports.append(rep)
        for el in rep.elements:
            if el.element not in shown or el.significance > shown[el.element][1]:
                shown[el.element] = (cid, float(el.significance))
    removed = []
    for ln in feature_lines:
        el, en = _element(ln), line_energy(ln)
        if el in shown or not window[0] <= en <= window[1]:
            continue
        width = 2 * float(fwhm(en, cal.fwhm_mnka))
        for other, _, _ in lines_near_energy(en, width):
            if _element(other) in shown and _element(other) != el and line_weight(other) >= _MIN_WEIGHT:
                cid, sig = shown[_element(other)]
                removed.append(RemovedLine(ln, el, other, cid, sig))
                break
    have = {_element(ln) for ln in feature_lines} - {r.element for r in removed}
    best: dict[str, AddedLine] = {}
    for rep, cid, n in zip(reports, ids, npix, strict=True):
        for el in rep.elements:
            if el.element in have or have.intersection(el.ambiguous_with):
                continue
            if el.significance < min_significance:
                continue
            best_line = _best_line(el, have, cal.fwhm_mnka, energy_range)
            # the line must hold significant net counts of its own, not only improve the fit
            if best_line is None or best_line[1] < min_significance:
                continue
            line = best_line[0]
            old = best.get(el.element)
            if old is None or el.significance > old.significance:
                best[el.element] = AddedLine(line, el.element, cid, n, float(el.net), float(el.sigma),
                                             float(el.significance), list(el.ambiguous_with))
    added = sorted(best.values(), key=lambda a: -a.significance)
    return LineReview(added, removed, {cid: rep.present for cid, rep in zip(ids, reports, strict=True)})
