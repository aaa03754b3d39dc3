"""X-ray line energies and weights from eXSpy's element database, and detector resolution.

The energy resolution model is the Fiori–Newbury relation used by HyperSpy/eXSpy
(Goldstein et al., *Scanning Electron Microscopy and X-ray Microanalysis*):

.. math:: \\mathrm{FWHM}(E)^2 = \\mathrm{FWHM}_{\\mathrm{Mn K\\alpha}}^2 + 2.5\\,(E - E_{\\mathrm{Mn K\\alpha}})

with energies and FWHM in eV and :math:`E_{\\mathrm{Mn K\\alpha}} = 5898.7` eV.
"""

from __future__ import annotations

import functools
import re

import numpy as np

from .._errors import bad_value

DEFAULT_FWHM_MNKA_EV = 130.0
_E_MNKA_KEV = 5.8987
_LINE_RE = re.compile(r"^([A-Z][a-z]?)_([A-Za-z0-9]+)$")


@functools.cache
def _db() -> dict:
    """Element → {line: (energy keV, weight)} from eXSpy, read once."""
    from exspy.material import elements

    out = {}
    for el, node in elements.as_dictionary().items():
        try:
            lines = node["Atomic_properties"]["Xray_lines"]
        except (KeyError, TypeError):
            continue
        out[el] = {ln: (float(v["energy (keV)"]), float(v["weight"])) for ln, v in lines.items()}
    return out


def is_xray_line(name: str) -> bool:
    """True when ``name`` is a line of eXSpy's database, such as ``'Fe_Ka'``.

    Examples
    --------
    >>> is_xray_line("Fe_Ka"), is_xray_line("Navigator"), is_xray_line("Fe_Kz")
    (True, False, False)
    """
    m = _LINE_RE.match(str(name))
    return bool(m) and m.group(2) in _db().get(m.group(1), {})


def _lookup(line: str) -> tuple[float, float]:
    m = _LINE_RE.match(str(line))
    if not m or m.group(1) not in _db():
        raise bad_value("xray_line", line, "an X-ray line written Element_Line, such as 'Fe_Ka'")
    lines = _db()[m.group(1)]
    if m.group(2) not in lines:
        raise bad_value(
            "xray_line", line, f"one of the lines of {m.group(1)}: {', '.join(sorted(lines))}"
        )
    return lines[m.group(2)]


def line_energy(line: str) -> float:
    """Energy of an X-ray line in keV.

    Examples
    --------
    >>> line_energy("Fe_Ka")
    6.4039
    """
    return _lookup(line)[0]


def line_weight(line: str) -> float:
    """Relative weight of a line within its family (eXSpy's database).

    Examples
    --------
    >>> line_weight("Fe_Kb")
    0.1272
    """
    return _lookup(line)[1]


def element_lines(element: str) -> dict[str, tuple[float, float]]:
    """All lines of an element as ``{'El_Line': (energy_keV, weight)}``.

    Examples
    --------
    >>> sorted(element_lines("Al"))
    ['Al_Ka', 'Al_Kb']
    """
    if element not in _db():
        raise bad_value("element", element, "a chemical symbol such as 'Fe'")
    return {f"{element}_{k}": v for k, v in _db()[element].items()}


def fwhm(energy, fwhm_mnka: float = DEFAULT_FWHM_MNKA_EV):
    """Detector FWHM in keV at ``energy`` (keV), from the FWHM at Mn Kα in eV.

    Examples
    --------
    >>> round(float(fwhm(5.8987)), 4)
    0.13
    >>> round(float(fwhm(1.4865)), 4)
    0.0766
    """
    if not fwhm_mnka or fwhm_mnka <= 0:
        raise bad_value("fwhm_mnka", fwhm_mnka, "a positive resolution in eV, such as 130")
    e = np.asarray(energy, dtype=float)
    var = fwhm_mnka**2 + 2.5 * (e - _E_MNKA_KEV) * 1000.0
    return np.sqrt(np.clip(var, 1.0, None)) / 1000.0


def lines_near_energy(energy: float, width: float = 0.2, only_major: bool = False):
    """X-ray lines within ``width/2`` keV of ``energy``, nearest first.

    Parameters
    ----------
    energy
        Energy in keV.
    width
        Full search window in keV.
    only_major
        Keep only lines of weight ≥ 0.5 (the α lines).

    Returns
    -------
    list of (str, float, float)
        ``(line, energy_keV, weight)``.

    Examples
    --------
    >>> [name for name, _, _ in lines_near_energy(1.487, 0.004)]
    ['Al_Ka']
    """
    if not np.isfinite(energy):
        raise bad_value("energy", energy, "a finite energy in keV")
    if width <= 0:
        raise bad_value("width", width, "a positive energy window in keV")
    hits = []
    for el, lines in _db().items():
        for ln, (e, w) in lines.items():
            if abs(e - energy) <= width / 2 and (w >= 0.5 or not only_major):
                hits.append((f"{el}_{ln}", e, w))
    hits.sort(key=lambda h: (abs(h[1] - energy), -h[2]))
    return hits


def default_lines_for_elements(
    elements, beam_energy: float | None = None, energy_range: tuple[float, float] | None = None
) -> list[str]:
    """One line per element: the α line of highest energy excited with overvoltage ≥ 2.

    Follows the usual microanalysis choice: Kα if ``E(Kα) < E0/2``, else Lα, else Mα, and only
    lines inside ``energy_range`` (keV) when given.

    Examples
    --------
    >>> default_lines_for_elements(["Fe", "Pt", "O"], beam_energy=20)
    ['Fe_Ka', 'Pt_La', 'O_Ka']
    >>> default_lines_for_elements(["Pt"], beam_energy=200)
    ['Pt_Ka']
    """
    out = []
    e0 = float(beam_energy) if beam_energy else 20.0
    lo, hi = energy_range if energy_range else (0.0, e0)
    for el in elements:
        lines = element_lines(el)
        chosen = None
        candidates = [f"{el}_{f}" for f in ("Ka", "La", "Ma") if f"{el}_{f}" in lines]
        inside = [c for c in candidates if lo <= lines[c][0] <= min(hi, e0)]
        for c in inside:
            if lines[c][0] < e0 / 2:
                chosen = c
                break
        if chosen is None and inside:
            chosen = inside[-1]
        if chosen is not None:
            out.append(chosen)
    return out


_FAMILY_COST = {"Ka": 0.0, "La": 0.35, "Ma": 0.7}
#: Lanthanides, actinides, short-lived elements and the noble gases are rarely what an
#: unlabelled peak is; they are proposed last (a peak at 0.85 keV is Ni Lα or Fe/Cu L before
#: Ne Kα; Ar stays possible, e.g. implanted by ion milling, when nothing else is near).
_RARE = set("La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm "
            "Tc Po At Rn Fr Ra He Ne Ar Kr Xe".split())


def _proposal_cost(hit, energy, tol, chosen) -> float:
    name, e, _ = hit
    el, fam = name.split("_")
    return (abs(e - energy) / tol + _FAMILY_COST.get(fam, 1.0) + (0.8 if el in _RARE else 0.0)
            - (2.0 if el in chosen else 0.0))


def propose_lines_from_spectrum(
    sum_spectrum,
    energy_axis,
    *,
    fwhm_mnka: float = DEFAULT_FWHM_MNKA_EV,
    beam_energy: float | None = None,
    min_energy: float = 0.2,
    max_lines: int = 12,
    prominence: float = 5.0,
) -> list[str]:
    """Propose X-ray lines from the peaks of a sum spectrum.

    Peaks are found on the spectrum smoothed to the detector resolution, with a prominence of
    ``prominence`` standard deviations of Poisson noise; each peak is matched to the α line
    (weight ≥ 0.5) nearest in energy within one FWHM, preferring lines whose element is already
    chosen. Used when a file names no elements.

    Examples
    --------
    >>> import numpy as np
    >>> e = np.arange(0, 10, 0.01)
    >>> s = 50 + 5000 * np.exp(-0.5 * ((e - 6.404) / 0.06) ** 2)
    >>> s += 3000 * np.exp(-0.5 * ((e - 1.74) / 0.035) ** 2)
    >>> propose_lines_from_spectrum(s, e)
    ['Fe_Ka', 'Si_Ka']
    """
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import find_peaks

    s = np.asarray(sum_spectrum, dtype=np.float64)
    e = np.asarray(energy_axis, dtype=np.float64)
    if s.shape != e.shape:
        raise bad_value("sum_spectrum", s.shape, f"a spectrum with {e.size} channels")
    scale = float(e[1] - e[0]) if e.size > 1 else 0.01
    sigma_ch = max(float(fwhm(5.0, fwhm_mnka)) / 2.355 / scale / 2, 0.5)
    sm = gaussian_filter1d(s, sigma_ch)
    noise = np.sqrt(np.clip(sm, 1.0, None))
    peaks, props = find_peaks(sm, prominence=prominence * noise)
    keep = e[peaks] >= min_energy
    if beam_energy:
        keep &= e[peaks] <= beam_energy
    peaks = peaks[keep]
    prom = props["prominences"][keep]
    order = np.argsort(-prom)
    chosen: list[str] = []
    for p in peaks[order]:
        ep = e[p]
        tol = float(fwhm(ep, fwhm_mnka))
        cands = [h for h in lines_near_energy(ep, 2 * tol, only_major=True)]
        if not cands:
            continue
        elements_chosen = {c.split("_")[0] for c in chosen}
        cands = [h for h in cands if h[0].endswith("a")]
        if not cands:
            continue
        cands.sort(key=lambda h: _proposal_cost(h, ep, tol, elements_chosen))
        name = cands[0][0]
        if name.split("_")[0] in elements_chosen:
            continue
        chosen.append(name)
        if len(chosen) >= max_lines:
            break
    return chosen
