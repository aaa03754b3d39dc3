"""Cliff–Lorimer element ratios of cluster spectra (thin foils, TEM), through eXSpy.

The net intensity of each line comes from the same fit as element detection
(:mod:`sigma.identify.fitting`: background modelled under the line, overlaps shared out), for
the *alpha line* of the family (its share of the family's counts), which is what eXSpy's
``get_lines_intensity`` windows and tabulated k-factors refer to. The intensities are handed to
:meth:`exspy.signals.EDSTEMSpectrum.quantification` with ``method='CL'`` and the user's
k-factors, so the arithmetic (and any later absorption correction) is eXSpy's.
"""

from __future__ import annotations

import math

import numpy as np

from .._errors import bad_value
from ..xray.lines import is_xray_line
from . import physics
from .elements import ElementReport, family_nets


def alpha_share(element: str, family: str) -> float:
    """Fraction of a family's fitted counts in its alpha line (Si escape included in the family).

    Examples
    --------
    >>> round(alpha_share("Fe", "K"), 3)
    0.884
    """
    from ._lineshapes import _family_lines

    centres, areas, labels = _family_lines(element, family)
    alpha = physics.alpha_line(element, family)
    return float(sum(a for a, lb in zip(areas, labels, strict=True) if lb == alpha)) / float(sum(areas))


def line_intensities(report: ElementReport, lines) -> dict[str, tuple[float, float]]:
    """Net counts (and standard deviation) of alpha lines such as ``'Fe_Ka'`` in one spectrum.

    The spectrum is refitted with its elements and those of ``lines``; an element that is not
    there gets its (possibly negative, near-zero) fitted value.

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.synthetic import energy_axis, phase_spectrum
    >>> from sigma.identify.elements import detect_elements
    >>> e = energy_axis(1024, 0.02, -0.1)
    >>> rep = detect_elements(np.random.default_rng(0).poisson(3e4 * phase_spectrum("NaCl", e)), e,
    ...                       beam_energy=20.0)
    >>> net, sd = line_intensities(rep, ["Cl_Ka"])["Cl_Ka"]
    >>> bool(net > 10 * sd)
    True
    """
    f = report.fitter
    if report.fit is None or f is None:
        raise bad_value("report", "an ElementReport without a fit (insufficient counts)",
                        "a report of a spectrum with enough counts")  # fmt: skip
    wanted = {}
    for ln in lines:
        if not is_xray_line(ln):
            raise bad_value("kfactors", ln, "X-ray lines written Element_Line, such as 'Fe_Ka'")
        el, name = ln.split("_")
        fam = name[0]
        if fam not in f.families_in_range(el) or physics.alpha_line(el, fam) != ln:
            raise bad_value("kfactors", ln,
                            "alpha lines (Ka, La, Ma) inside the spectrum's fitted range and excited "
                            f"at {f.beam_energy:g} kV")  # fmt: skip
        wanted[ln] = (el, fam)
    fit = f.fit(sorted(set(report.present) | {el for el, _ in wanted.values()}),
                sum_peaks=report.sum_peak_terms)  # fmt: skip
    out = {}
    for ln, (el, fam) in wanted.items():
        net, var = family_nets(fit, el).get(fam, (0.0, 0.0))
        share = alpha_share(el, fam)
        out[ln] = (net * share, math.sqrt(var) * share)
    return out


def cliff_lorimer(
    reports: list[ElementReport], kfactors: dict[str, float], *, beam_energy: float,
    composition_units: str = "atomic",
) -> list[dict[str, float]]:
    """Compositions of spectra by the Cliff–Lorimer method, with eXSpy's quantification.

    Parameters
    ----------
    reports : list of ElementReport
        Element reports of the spectra (:func:`~sigma.identify.elements.detect_elements`).
    kfactors : dict
        ``{'Fe_Ka': 1.45, 'Pt_La': 5.08, ...}``; at least two lines.
    beam_energy : float
        kV.
    composition_units : {'atomic', 'weight'}

    Returns
    -------
    list of dict
        Per spectrum ``{element: percent}`` (empty for a spectrum with insufficient counts).

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.synthetic import energy_axis, phase_spectrum
    >>> from sigma.identify.elements import detect_elements
    >>> e = energy_axis(2048, 0.01, 0.0)
    >>> y = np.random.default_rng(0).poisson(2e5 * phase_spectrum("FePt", e, beam_energy=200,
    ...                                                            kind="TEM"))
    >>> rep = detect_elements(y, e, beam_energy=200.0, kind="TEM")
    >>> comp = cliff_lorimer([rep], {"Fe_Ka": 1.0, "Pt_La": 1.0}, beam_energy=200.0)[0]
    >>> sorted(comp), round(sum(comp.values()), 6)
    (['Fe', 'Pt'], 100.0)
    """
    import exspy
    import hyperspy.api as hs

    if not isinstance(kfactors, dict) or len(kfactors) < 2:
        raise bad_value("kfactors", kfactors, "a dict of at least two {'El_Line': k-factor}")
    for ln, k in kfactors.items():
        if not isinstance(k, (int, float)) or not math.isfinite(k) or k <= 0:
            raise bad_value("kfactors", {ln: k}, "positive k-factors")
    if composition_units not in ("atomic", "weight"):
        raise bad_value("composition_units", composition_units, "'atomic' or 'weight'")
    lines = sorted(kfactors)
    ok = [i for i, r in enumerate(reports) if not r.insufficient and r.fit is not None]
    out: list[dict[str, float]] = [{} for _ in reports]
    if not ok:
        return out
    table = np.zeros((len(lines), len(ok)))
    for j, i in enumerate(ok):
        ints = line_intensities(reports[i], lines)
        table[:, j] = [max(ints[ln][0], 0.0) for ln in lines]
    spec = exspy.signals.EDSTEMSpectrum(np.ones((len(ok), 8)))
    spec.set_microscope_parameters(beam_energy=float(beam_energy))
    intensities = []
    for n, ln in enumerate(lines):
        s = hs.signals.BaseSignal(table[n]).T
        s.metadata.set_item("Sample.xray_lines", [ln])
        s.metadata.set_item("Sample.elements", [ln.split("_")[0]])
        s.metadata.General.title = f"X-ray line intensity of {ln}"
        intensities.append(s)
    prefs = hs.preferences.General
    shown = prefs.show_progressbar
    prefs.show_progressbar = False  # eXSpy's unit conversion draws a bar per call otherwise
    try:
        comp = spec.quantification(intensities, method="CL",
                                   factors=[float(kfactors[ln]) for ln in lines],
                                   composition_units=composition_units, navigation_mask=None)  # fmt: skip
    finally:
        prefs.show_progressbar = shown
    for n, ln in enumerate(lines):
        el = ln.split("_")[0]
        vals = np.atleast_1d(np.asarray(comp[n].data, dtype=float))
        for j, i in enumerate(ok):
            out[i][el] = float(vals[j])
    return out
