r"""Noiseless EDS spectra of phases of known composition.

The model is deliberately simple but has the features that matter to phase mapping:

* **Characteristic lines** ("ZAF-lite", a textbook thick-target model without a
  :math:`\phi(\rho z)` curve, written independently of :mod:`sigma.identify.physics`). Every
  line of every family (K, L, M) of eXSpy's database is emitted in proportion to

  .. math:: I \propto \frac{c}{A}\, n_s b_s\, \omega\, \frac{w}{\sum w}\,
            \frac{F(U_0)}{(\sum_j c_j Z_j / A_j)\, \bar L}\, R\; f(\chi)

  with :math:`c` the weight fraction and :math:`A` the atomic weight of the element;
  :math:`n_s b_s` the electrons and Bethe constant of the shell that feeds the family's alpha
  line (K: 2 × 0.35, L3: 4 × 0.25, M5: 6 × 0.25); :math:`\omega = Z^4/(a + Z^4)` Wentzel's
  fluorescence yield (:math:`a = 10^6, 10^8, 10^9` for K, L, M); :math:`w` eXSpy's line weight
  within the family. The number of ionisations along the electron path uses the
  Worthington–Tomlin cross-section :math:`Q \propto \ln[4U/(1.65 + 2.35 e^{1-U})]/(U E_c^2)`
  and a Thomson–Whiddington energy loss (Bethe stopping with its logarithm :math:`\bar L =
  \ln(1.166 \sqrt{E_c E_0}/J)` taken at the mean energy, :math:`J` Berger–Seltzer's mean
  ionisation energy), so that :math:`F(U_0) = \int_1^{U_0} \ln[4U/(1.65 + 2.35e^{1-U})]\,dU`
  and the atomic-number correction is the stopping factor :math:`\sum c_j Z_j / A_j` times
  the backscatter loss :math:`R` (Yakowitz et al.'s fit for FRAME, with the mass-averaged
  :math:`\bar Z`). Absorption on the way out, :math:`f(\chi) = 1/(1 + \chi\,\rho \bar z)`,
  treats generation as exponential in depth with a mean of a third of the Anderson–Hasler
  X-ray range :math:`\rho R = 6.4\times10^{-6} (E_0^{1.68} - E_c^{1.68})` g/cm² (keV), and
  :math:`\chi = (\mu/\rho)\csc\psi` from eXSpy's mass absorption coefficients (take-off
  :math:`\psi = 35°`). Each line's edge is its shell's (eXSpy's binding energy, or just above
  the line) so that Lβ1, Lγ … of higher sub-shells switch off at their own edges. For a thin
  (TEM) foil the cross-section is taken at the beam energy, per unit mass, without
  absorption or backscatter.
* **Bremsstrahlung.** Kramers' law :math:`N(E) = k \bar Z (E_0 - E) / E` photons per electron
  and keV (:math:`k = 2\times 10^{-6}`), absorbed like X-rays generated at their own energy;
  thin foil: :math:`\propto \sum_j c_j Z_j^2/A_j / E`, unabsorbed. Times :math:`T(E)`.
* **Detector.** :math:`T(E) = \exp(-(E_w / E)^3)` with :math:`E_w = 0.35` keV models the window
  and dead-layer absorption: it falls to ~0.5 % at 0.2 keV. Each line is a Gaussian with the
  Fiori–Newbury FWHM of :func:`sigma.xray.fwhm`, integrated over each channel. A zero-energy
  (noise / strobe) peak sits at 0 keV.
* For ``kind='TEM'`` a copper grid adds Cu lines to every spectrum.

All energies are keV. Mean atomic numbers :math:`\bar Z` are mass-fraction weighted.
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
#: Kramers' constant (photons per electron and keV, per unit Z) against the lines, per kind.
_BREMS = {"SEM": 2.0e-6, "TEM": 2.0e-8}
#: Wentzel fluorescence-yield constants ``a`` of ``Z**4 / (a + Z**4)``.
_OMEGA_A = {"K": 1.0e6, "L": 1.0e8, "M": 1.0e9}
#: Electrons times Bethe constant of the shell feeding each family's alpha line (K, L3, M5).
_SHELL_NB = {"K": 2 * 0.35, "L": 4 * 0.25, "M": 6 * 0.25}
#: Detector take-off angle (degrees) of the absorption path.
TAKEOFF_DEG = 35.0
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


def _detected(energy, beam_energy: float, kind: str, composition=None, edges=None) -> np.ndarray:
    r"""Fraction of generated X-rays that are detected: window times (SEM) absorption in the
    sample, :math:`f(\chi) = 1/(1 + \chi \rho\bar z)` (see the module notes); ``edges`` are
    the ionisation edges the X-rays are generated from (their own energy for the continuum)."""
    e = np.asarray(energy, dtype=np.float64)
    t = window_transmission(e)
    if kind == "SEM" and composition is not None:
        ec = e if edges is None else np.asarray(edges, dtype=np.float64)
        e0 = float(beam_energy)
        ec = np.minimum(ec, 0.98 * e0)
        mean_depth = 0.064e-4 * (e0**1.68 - ec**1.68) / 3.0  # g/cm², a third of the X-ray range
        chi = _mass_absorption(e, composition) / np.sin(np.radians(TAKEOFF_DEG))
        t = t / (1.0 + chi * mean_depth)
    return t


@functools.cache
def _has_mac(element: str) -> bool:
    from exspy.material import mass_absorption_coefficient

    try:
        mass_absorption_coefficient(element, [5.0])
    except (AttributeError, KeyError, ValueError):
        return False
    return True


def _mass_absorption(energy: np.ndarray, composition: Mapping[str, float]) -> np.ndarray:
    """Mass absorption coefficient (cm²/g) of a mixture (eXSpy's Chantler tables)."""
    from exspy.material import mass_absorption_mixture

    els = [el for el, c in composition.items() if c > 0 and _has_mac(el)]
    out = np.zeros(energy.shape)
    ok = energy > 0.05
    if els and ok.any():
        wt = [100.0 * composition[el] for el in els]
        out[ok] = np.asarray(mass_absorption_mixture(wt, els, energy[ok].tolist()), dtype=np.float64)
    return out


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


def _family_edge(element: str, family: str, lines: Mapping[str, tuple[float, float]]) -> float:
    """Edge (keV) of the sub-shell feeding a family's alpha line: eXSpy's binding energy, else
    just above the highest line that sub-shell emits (K: 1.5 % above Kβ; L3: 1 % above Lβ2, or
    10 % above Lα without it; M5: 2 % above Mα)."""
    _, _, edges = _element_props(element)
    for k in {"K": ("K",), "L": ("L3", "L2,3"), "M": ("M5", "M4,5")}[family]:
        if edges.get(k, 0) > 0:
            return edges[k]
    el = element
    if family == "K":
        return 1.015 * max(e for e, _ in lines.values())
    if family == "L":
        return 1.01 * lines[f"{el}_Lb2"][0] if f"{el}_Lb2" in lines else 1.1 * lines[f"{el}_La"][0]
    alpha = max(lines.values(), key=lambda ew: ew[1])[0]
    return 1.02 * alpha


def _ionisation_integral(u0: np.ndarray) -> np.ndarray:
    r""":math:`F(U_0) = \int_1^{U_0} \ln[4U / (1.65 + 2.35 e^{1-U})]\,dU` (Worthington–Tomlin
    cross-section times :math:`E`, integrated under a Thomson–Whiddington energy loss)."""
    u0 = np.asarray(u0, dtype=np.float64)
    x = np.linspace(0.0, 1.0, 65)
    u = 1.0 + (np.maximum(u0, 1.0) - 1.0)[..., None] * x
    g = np.log(4.0 * u / (1.65 + 2.35 * np.exp(1.0 - u)))
    return np.trapezoid(g, x, axis=-1) * (np.maximum(u0, 1.0) - 1.0)


def _mean_ionisation_kev(z: float) -> float:
    """Berger–Seltzer mean ionisation energy :math:`J = Z(9.76 + 58.8 Z^{-1.19})` eV, in keV."""
    return z * (9.76 + 58.8 * z**-1.19) * 1e-3


def _backscatter_factor(zbar: float, u0: np.ndarray, e0: float) -> np.ndarray:
    """Fraction of ionisations not lost to backscattered electrons (Yakowitz et al., FRAME):
    :math:`R = 1 - 0.0081517 Z + 3.613\times10^{-5} Z^2 + 0.009583 Z e^{-U_0} + 0.001141 E_0`."""
    r = 1.0 - 0.0081517 * zbar + 3.613e-5 * zbar**2 + 0.009583 * zbar * np.exp(-u0) + 0.001141 * e0
    return np.clip(r, 0.5, 1.0)


def _line_table(comp: Mapping[str, float], e0: float, kind: str):
    """Names, energies, generated intensities and edges (keV) of every excited line."""
    names, energies, values, edges_out = [], [], [], []
    zbar = sum(c * _element_props(el)[0] for el, c in comp.items())
    stop = sum(c * _element_props(el)[0] / _element_props(el)[1] for el, c in comp.items())
    ln_j = sum(c * _element_props(el)[0] / _element_props(el)[1] * np.log(_mean_ionisation_kev(_element_props(el)[0]))
               for el, c in comp.items()) / stop  # fmt: skip
    j_mix = float(np.exp(ln_j))
    for el, c in comp.items():
        z, a, _ = _element_props(el)
        families: dict[str, dict[str, tuple[float, float]]] = {}
        for name, (e, w) in element_lines(el).items():
            if w > 0 and e > 0:
                families.setdefault(name.split("_")[1][0], {})[name] = (e, w)
        for fam, lines in families.items():
            if fam not in _SHELL_NB:
                continue
            fam_edge = _family_edge(el, fam, lines)
            omega = z**4 / (_OMEGA_A[fam] + z**4)
            w_total = sum(w for _, w in lines.values())
            for name, (e, w) in lines.items():
                edge = max(fam_edge, 1.01 * e)
                u0 = e0 / edge
                if e >= e0 or u0 <= 1.0:
                    continue
                if kind == "SEM":
                    log_term = max(float(np.log(1.166 * np.sqrt(edge * e0) / j_mix)), 1.0)
                    n_ion = float(_ionisation_integral(u0)) / (stop * log_term)
                    n_ion *= float(_backscatter_factor(zbar, u0, e0))
                else:
                    n_ion = float(np.log(4.0 * u0 / (1.65 + 2.35 * np.exp(1.0 - u0)))) / (u0 * edge**2)
                # 0.4994 = N_A x 6.51e-20 keV^2 cm^2 / 78500 keV cm^2/g (Bethe's constants)
                names.append(name)
                energies.append(e)
                edges_out.append(edge)
                values.append(0.4994 * c / a * _SHELL_NB[fam] * omega * (w / w_total) * n_ion)
    return names, np.array(energies), np.array(values), np.array(edges_out)


def line_intensities(
    composition, *, beam_energy: float = 20.0, kind: str = "SEM"
) -> dict[str, float]:
    """Generated intensity of every line of a composition (photons per electron, before
    absorption in the sample and the detector; see the module notes).

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
    >>> li = line_intensities("Cu", beam_energy=20.0)  # Cu Kα, ~1e-3 photons per electron
    >>> bool(5e-4 < li["Cu_Ka"] < 2e-3), bool(li["Cu_La"] > li["Cu_Ka"])
    (True, True)
    """
    kind = _check_kind(kind)
    e0 = float(beam_energy)
    if not np.isfinite(e0) or e0 <= 0:
        raise bad_value("beam_energy", beam_energy, "a positive accelerating voltage in kV")
    names, _, values, _ = _line_table(normalise_composition(composition), e0, kind)
    return dict(zip(names, values.tolist(), strict=True))


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
    continuum: float = 1.0,
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
    continuum : float
        Factor on the bremsstrahlung (Kramers' constant of ``kind``): above 1, the lines stand
        less far above the background (e.g. a thin TEM film whose continuum is strong against
        its few lines).

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
    names, centres, areas, edges = _line_table(comp, e0, kind)
    if kind == "TEM":
        cu_names, cu_e, cu_a, cu_edges = _line_table({"Cu": 1.0}, e0, kind)
        f = CU_GRID_FRACTION * areas.sum() / max(cu_a.sum(), 1e-300)
        names, centres = names + cu_names, np.r_[centres, cu_e]
        areas, edges = np.r_[areas, f * cu_a], np.r_[edges, cu_edges]
    areas = areas * _detected(centres, e0, kind, comp, edges)
    spec = _gaussians(axis, centres, areas, fwhm(centres, fwhm_mnka))
    if background:
        e = axis
        inside = (e > 0) & (e < e0)
        scale = float(axis[1] - axis[0])
        kr = np.zeros_like(e)
        if kind == "TEM":
            z2a = sum(c * _element_props(el)[0] ** 2 / _element_props(el)[1] for el, c in comp.items())
            kr[inside] = z2a / e[inside]
        else:
            kr[inside] = mean_atomic_number(comp) * (e0 - e[inside]) / e[inside]
        det = np.zeros_like(e)
        det[inside] = _detected(e[inside], e0, kind, comp)
        spec += float(continuum) * _BREMS[kind] * kr * det * scale
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
