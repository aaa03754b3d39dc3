"""Noiseless EDS spectra of phases of known composition.

The model is deliberately simple but has the features that matter to phase mapping:

* **Characteristic lines.** Every line of every excited family (K, L, M) of eXSpy's database,
  with its relative weight inside the family. A family's intensity is

  .. math:: I \\propto c\\,\\omega(Z)\\,Q(U)\\,T(E)

  with :math:`c` the weight fraction, :math:`\\omega = Z^4 / (a + Z^4)` a fluorescence yield
  (:math:`a = 10^6, 10^8, 10^9` for K, L, M), :math:`U = E_0 / E_c` the overvoltage against the
  family's edge and :math:`T` the detector window transmission below. For a thick (SEM) target
  :math:`Q = (U - 1)^{1.67}` (Green–Cosslett); for a thin (TEM) foil the ionisation cross-section
  :math:`Q = \\ln U / (U E_c^2) / A` per unit mass. Lines whose energy is at or above the beam
  energy, or whose edge is not excited (``U <= 1``), are absent. In a thick target soft X-rays
  are absorbed on their way out: SEM lines and continuum are multiplied by
  :math:`1 / (1 + (E_a / E)^{2.5})` with :math:`E_a = 0.05\\,E_0` (a crude :math:`f(\\chi)`).
* **Bremsstrahlung.** Kramers' law :math:`N(E) \\propto \\bar Z (E_0 - E) / E`, times
  :math:`T(E)`.
* **Detector.** :math:`T(E) = \\exp(-(E_w / E)^3)` with :math:`E_w = 0.35` keV models the window
  and dead-layer absorption: it falls to ~0.5 % at 0.2 keV. Each line is a Gaussian with the
  Fiori–Newbury FWHM of :func:`sigma.xray.fwhm`, integrated over each channel. A zero-energy
  (noise / strobe) peak sits at 0 keV.
* For ``kind='TEM'`` a copper grid adds Cu lines to every spectrum.

All energies are keV. Mean atomic numbers :math:`\\bar Z` are mass-fraction weighted.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

import numpy as np

from .._errors import bad_value
from ..xray.lines import _db, element_lines, fwhm

#: Detector window "cut-off" energy (keV) of the transmission ``exp(-(E_w/E)**3)``.
WINDOW_ENERGY_KEV = 0.35
#: Area of the zero-energy peak as a fraction of the rest of the spectrum.
ZERO_PEAK_FRACTION = 0.02
#: Copper grid lines added to TEM spectra, as a fraction of the characteristic intensity.
CU_GRID_FRACTION = 0.04
#: Scale of Kramers' continuum against the characteristic lines, per kind.
_BREMS = {"SEM": 8.0e-4, "TEM": 1.0e-8}
_OMEGA_A = {"K": 1.0e6, "L": 1.0e8, "M": 1.0e9}
_FORMULA_RE = re.compile(r"([A-Z][a-z]?)(\d*\.?\d*)")

#: Default SEM phases (20 kV): chemical formulae of common rock-forming minerals; the first is the
#: matrix.
DEFAULT_SEM_PHASES: dict[str, str] = {
    "quartz": "SiO2",
    "albite": "NaAlSi3O8",
    "magnetite": "Fe3O4",
    "calcite": "CaCO3",
    "ilmenite": "FeTiO3",
}
#: Default TEM phases (200 kV): a carbon support film, FePt and Pt particles and an iron oxide.
DEFAULT_TEM_PHASES: dict[str, str | dict[str, float]] = {
    "carbon support": {"C": 0.95, "O": 0.05},
    "FePt": "FePt",
    "magnetite": "Fe3O4",
    "Pt": "Pt",
}


@functools.cache
def _element_props(element: str) -> tuple[int, float, dict[str, float]]:
    """``(Z, atomic weight, {shell: edge keV})`` from eXSpy's database."""
    from exspy.material import elements

    if element not in _db():
        raise bad_value("element", element, "a chemical symbol such as 'Fe'")
    node = elements[element].as_dictionary()
    gen = node["General_properties"]
    edges = node["Atomic_properties"].get("Binding_energies", {})
    return (
        int(gen["Z"]),
        float(gen["atomic_weight"]),
        {k: float(v["onset_energy (eV)"]) / 1000.0 for k, v in edges.items()},
    )


def formula_to_weight_fractions(formula: str) -> dict[str, float]:
    """Weight fractions of a chemical formula such as ``'NaAlSi3O8'`` (no brackets).

    Examples
    --------
    >>> {k: round(v, 3) for k, v in formula_to_weight_fractions("SiO2").items()}
    {'Si': 0.467, 'O': 0.533}
    """
    parts = _FORMULA_RE.findall(str(formula))
    if not parts or "".join(el + n for el, n in parts) != str(formula):
        raise bad_value("formula", formula, "a chemical formula without brackets, such as 'SiO2'")
    mass: dict[str, float] = {}
    for el, n in parts:
        _, a, _ = _element_props(el)
        mass[el] = mass.get(el, 0.0) + a * (float(n) if n else 1.0)
    total = sum(mass.values())
    return {el: m / total for el, m in mass.items()}


def normalise_composition(composition) -> dict[str, float]:
    """Weight fractions summing to 1 from a formula string or an ``{element: amount}`` mapping.

    Examples
    --------
    >>> normalise_composition({"Fe": 1, "Pt": 3})
    {'Fe': 0.25, 'Pt': 0.75}
    """
    if isinstance(composition, str):
        return formula_to_weight_fractions(composition)
    if not isinstance(composition, Mapping) or not composition:
        raise bad_value(
            "composition", composition, "a formula such as 'SiO2' or a dict {element: fraction}"
        )
    for el, v in composition.items():
        _element_props(el)
        if not np.isfinite(v) or v < 0:
            raise bad_value("composition", dict(composition), "non-negative fractions")
    total = float(sum(composition.values()))
    if total <= 0:
        raise bad_value("composition", dict(composition), "fractions with a positive sum")
    return {el: float(v) / total for el, v in composition.items()}


def mean_atomic_number(composition: Mapping[str, float]) -> float:
    """Mass-fraction weighted mean atomic number.

    Examples
    --------
    >>> round(mean_atomic_number(formula_to_weight_fractions("SiO2")), 2)
    10.8
    """
    comp = normalise_composition(composition)
    return float(sum(c * _element_props(el)[0] for el, c in comp.items()))


def energy_axis(n_channels: int = 2048, scale: float = 0.01, offset: float = -0.47) -> np.ndarray:
    """Channel-centre energies in keV, ``offset + scale * arange(n_channels)``.

    Examples
    --------
    >>> energy_axis(4, 0.01, -0.47)
    array([-0.47, -0.46, -0.45, -0.44])
    """
    if int(n_channels) != n_channels or n_channels < 2:
        raise bad_value("n_channels", n_channels, "an int >= 2")
    if not np.isfinite(scale) or scale <= 0:
        raise bad_value("energy_scale", scale, "a positive channel width in keV, such as 0.01")
    if not np.isfinite(offset):
        raise bad_value("energy_offset", offset, "a finite energy in keV")
    return offset + scale * np.arange(int(n_channels), dtype=np.float64)


def window_transmission(energy) -> np.ndarray:
    """Detector window transmission ``exp(-(0.35 keV / E)**3)``, 0 for ``E <= 0``.

    Examples
    --------
    >>> np.round(window_transmission([0.0, 0.2, 1.0, 5.0]), 3)
    array([0.   , 0.005, 0.958, 1.   ])
    """
    e = np.asarray(energy, dtype=np.float64)
    out = np.zeros_like(e)
    pos = e > 0
    out[pos] = np.exp(-((WINDOW_ENERGY_KEV / e[pos]) ** 3))
    return out


def _detected(energy, beam_energy: float, kind: str) -> np.ndarray:
    """Fraction of generated X-rays that are detected: window times (SEM) self-absorption."""
    e = np.asarray(energy, dtype=np.float64)
    t = window_transmission(e)
    if kind == "SEM":
        pos = e > 0
        t[pos] /= 1.0 + (0.05 * beam_energy / e[pos]) ** 2.5
    return t


def _gaussians(axis: np.ndarray, centres, areas, fwhms) -> np.ndarray:
    """Sum of Gaussians integrated over each channel (channel ``i`` spans ``axis[i] ± scale/2``)."""
    from scipy.special import ndtr

    scale = float(axis[1] - axis[0])
    edges = np.append(axis - scale / 2, axis[-1] + scale / 2)
    out = np.zeros(axis.size)
    for c, a, f in zip(centres, areas, fwhms, strict=True):
        if a <= 0:
            continue
        sd = f / (2.0 * np.sqrt(2.0 * np.log(2.0)))
        lo, hi = np.searchsorted(edges, [c - 8 * sd, c + 8 * sd])
        lo, hi = max(lo - 1, 0), min(hi + 1, edges.size)
        if hi - lo < 2:
            continue
        cdf = ndtr((edges[lo:hi] - c) / sd)
        out[lo : hi - 1] += a * np.diff(cdf)
    return out


def line_intensities(
    composition, *, beam_energy: float = 20.0, kind: str = "SEM"
) -> dict[str, float]:
    """Generated intensity of every line of a composition (before detector effects).

    Parameters
    ----------
    composition : str or dict
        Formula or ``{element: weight fraction}``.
    beam_energy : float
        Accelerating voltage ``E0`` in kV.
    kind : {'SEM', 'TEM'}
        Thick-target (SEM) or thin-foil (TEM) ionisation factor.

    Returns
    -------
    dict
        ``{'El_Line': intensity}``; lines that are not excited are left out.

    Examples
    --------
    >>> sorted(line_intensities("SiO2", beam_energy=20))
    ['O_Ka', 'Si_Ka', 'Si_Kb']
    >>> "Fe_Ka" in line_intensities("Fe3O4", beam_energy=7.0)
    False
    """
    kind = _check_kind(kind)
    e0 = float(beam_energy)
    if not np.isfinite(e0) or e0 <= 0:
        raise bad_value("beam_energy", beam_energy, "a positive accelerating voltage in kV")
    out: dict[str, float] = {}
    for el, c in normalise_composition(composition).items():
        z, a, edges = _element_props(el)
        families: dict[str, dict[str, tuple[float, float]]] = {}
        for name, (e, w) in element_lines(el).items():
            families.setdefault(name.split("_")[1][0], {})[name] = (e, w)
        for fam, lines in families.items():
            known = [v for k, v in edges.items() if k.startswith(fam)]
            fam_edge = min(known) if known else 1.01 * max(e for e, _ in lines.values())
            omega = z**4 / (_OMEGA_A.get(fam, 1.0e9) + z**4)
            for name, (e, w) in lines.items():
                edge = max(fam_edge, 1.005 * e)
                u = e0 / edge
                if e >= e0 or u <= 1.0 or w <= 0:
                    continue
                if kind == "SEM":
                    q = (u - 1.0) ** 1.67
                else:
                    q = np.log(u) / (u * edge**2) / a * 100.0
                out[name] = c * omega * q * w
    return out


def _check_kind(kind: str) -> str:
    k = str(kind).upper()
    if k not in ("SEM", "TEM"):
        raise bad_value("kind", kind, "'SEM' or 'TEM'")
    return k


def phase_spectrum(
    composition,
    axis: np.ndarray,
    *,
    beam_energy: float = 20.0,
    fwhm_mnka: float = 130.0,
    kind: str = "SEM",
    background: bool = True,
    zero_peak: bool = True,
) -> np.ndarray:
    """Noiseless spectrum of one phase on an energy axis, normalised to sum 1.

    Parameters
    ----------
    composition : str or dict
        Formula or ``{element: weight fraction}``.
    axis : ndarray
        Channel-centre energies (keV), evenly spaced.
    beam_energy : float
        ``E0`` in kV.
    fwhm_mnka : float
        Detector FWHM at Mn Kα in eV.
    kind : {'SEM', 'TEM'}
        ``'TEM'`` uses the thin-foil factor and adds the Cu grid lines.
    background, zero_peak : bool
        Include the bremsstrahlung and the zero-energy peak.

    Returns
    -------
    ndarray
        ``(C,)`` float64 summing to 1.

    Examples
    --------
    >>> ax = energy_axis(2048, 0.01, -0.47)
    >>> s = phase_spectrum("SiO2", ax)
    >>> round(float(s.sum()), 6), round(float(ax[np.argmax(s)]), 2)
    (1.0, 1.74)
    """
    kind = _check_kind(kind)
    axis = np.asarray(axis, dtype=np.float64)
    if axis.ndim != 1 or axis.size < 2 or not np.all(np.diff(axis) > 0):
        raise bad_value("axis", getattr(axis, "shape", axis), "an increasing 1-D energy axis")
    comp = normalise_composition(composition)
    e0 = float(beam_energy)
    lines = line_intensities(comp, beam_energy=e0, kind=kind)
    if kind == "TEM":
        cu = line_intensities({"Cu": 1.0}, beam_energy=e0, kind=kind)
        f = CU_GRID_FRACTION * sum(lines.values()) / max(sum(cu.values()), 1e-300)
        for k, v in cu.items():
            lines[k] = lines.get(k, 0.0) + f * v
    names = list(lines)
    centres = np.array([element_lines(n.split("_")[0])[n][0] for n in names])
    areas = np.array([lines[n] for n in names]) * _detected(centres, e0, kind)
    spec = _gaussians(axis, centres, areas, fwhm(centres, fwhm_mnka))
    if background:
        e = axis
        inside = (e > 0) & (e < e0)
        kr = np.zeros_like(e)
        kr[inside] = (e0 - e[inside]) / e[inside]
        scale = float(axis[1] - axis[0])
        spec += _BREMS[kind] * mean_atomic_number(comp) * kr * _detected(e, e0, kind) * scale
    if zero_peak:
        spec += _gaussians(
            axis, [0.0], [ZERO_PEAK_FRACTION * spec.sum()], [float(fwhm(0.0, fwhm_mnka))]
        )
    total = spec.sum()
    if total <= 0:
        raise bad_value(
            "composition", comp, f"elements with lines on the energy axis at E0={e0} kV"
        )
    return spec / total
