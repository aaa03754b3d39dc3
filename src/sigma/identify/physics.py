"""X-ray generation physics used to predict line intensities of a known composition.

This is a small, self-contained peak-to-background (P/B) model, written independently of the
phantom generator (:mod:`sigma.synthetic.spectra`) so that identification does not inherit that
generator's simplifications:

* **Line families** (K, L, M) of every element come from eXSpy's database
  (:func:`sigma.xray.element_lines`): energies and relative weights within a family.
* **Ionisation edges** come from eXSpy's binding energies where it lists the shell, and
  otherwise are estimated just above the family's highest line (see :func:`family_edge`).
* **Fluorescence yields** :math:`\\omega` follow Burhop's fit
  :math:`(\\omega / (1 - \\omega))^{1/4} = A + BZ + CZ^3` with the K, L and M coefficients
  of Bambynek et al. (Rev. Mod. Phys. 44, 716, 1972) as used in Colby's MAGIC.
* **Ionisation** is Bethe's cross-section :math:`Q \\propto n_s b_s \\ln U / (U E_c^2)`.
  For a thick (SEM) target it is integrated along the electron path with the Bethe stopping
  power in the Joy–Luo form, :math:`-dE/d\\rho s \\propto (\\sum c_j Z_j / A_j)
  \\ln(1.166 (E + 0.85 J) / J) / E`, so the atomic-number correction comes out of the
  integral; for a thin (TEM) foil :math:`Q` is taken at the beam energy.
* **Continuum** (bremsstrahlung) generated per unit energy: Kramers'
  :math:`\\bar Z (E_0 - E) / E` (mass-weighted :math:`\\bar Z`) for SEM, and
  :math:`\\sum_j c_j Z_j^2 / A_j / E` for a thin foil.

Absorption in the sample and the detector efficiency multiply a line and the continuum
beneath it alike, so the *ratio* of a line to the background at its own energy does not depend
on them (the P/B method of Statham & Pawley, Scanning Electron Microsc. 1978, and Small et al.,
1979). :func:`peak_to_background` returns that ratio up to a constant, and identification
multiplies it by the background *fitted to the measured spectrum*, so neither the detector
window nor the absorption correction has to be known. They are still modelled
(:func:`detector_efficiency`, :func:`absorption_factor`, with eXSpy's mass absorption
coefficients) to give the background fit a realistic starting shape.

Everything here works on weight fractions ``{element: fraction}``; energies are in keV.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping

import numpy as np

from .._errors import bad_value
from ..xray.lines import _db, element_lines

#: Elements never searched for: no usable line in an EDS spectrum (H, He, Li), noble gases
#: other than Ar, and short-lived radioactive elements.
EXCLUDED_ELEMENTS = frozenset(
    "H He Li Ne Kr Xe Rn Tc Pm Po At Fr Ra Ac Pa Np Pu Am Cm Bk Cf Es Fm".split()
)
#: Lines weaker than this within their family are left out of the peak profiles.
MIN_LINE_WEIGHT = 0.01
#: Take-off angle (degrees) assumed when the file gives none.
DEFAULT_TAKEOFF_DEG = 35.0

# Burhop / Bambynek fluorescence-yield coefficients (A, B, C) per shell.
_OMEGA_COEF = {"K": (0.015, 0.0327, -0.64e-6), "L": (-0.11107, 0.01368, -0.2177e-6),
               "M": (-0.00036, 0.00386, 0.20101e-6)}  # fmt: skip
# Bethe n_s * b_s of the shell that produces the family's alpha line (K, L3, M5).
_BETHE_NB = {"K": 2 * 0.35, "L": 4 * 0.25, "M": 6 * 0.25}
_EDGE_SHELL = {"K": ("K",), "L": ("L3", "L2,3"), "M": ("M5", "M4,5")}


@functools.cache
def _all_elements() -> frozenset:
    from exspy.material import elements

    return frozenset(elements.as_dictionary())


def is_element(symbol) -> bool:
    """True for a chemical symbol of eXSpy's database (lines or not: ``'Li'`` is one).

    Examples
    --------
    >>> is_element("Li"), is_element("Xx")
    (True, False)
    """
    return isinstance(symbol, str) and symbol in _all_elements()


@functools.cache
def element_data(element: str) -> tuple[int, float]:
    """``(Z, atomic weight)`` from eXSpy.

    Examples
    --------
    >>> element_data("Fe")
    (26, 55.845)
    """
    from exspy.material import elements

    if not is_element(element):
        raise bad_value("element", element, "a chemical symbol such as 'Fe'")
    gen = elements[element].General_properties
    return int(gen.Z), float(gen.atomic_weight)


@functools.cache
def _binding_energies(element: str) -> dict[str, float]:
    from exspy.material import elements

    be = elements[element].as_dictionary()["Atomic_properties"].get("Binding_energies", {})
    return {k: float(v["onset_energy (eV)"]) / 1000.0 for k, v in be.items()}


@functools.cache
def families(element: str) -> dict[str, dict[str, tuple[float, float]]]:
    """Lines of an element grouped by family: ``{'K': {'Fe_Ka': (keV, weight), ...}, ...}``.

    Lines weaker than :data:`MIN_LINE_WEIGHT` are dropped.

    Examples
    --------
    >>> sorted(families("Fe"))
    ['K', 'L']
    >>> sorted(families("Fe")["K"])
    ['Fe_Ka', 'Fe_Kb']
    """
    out: dict[str, dict[str, tuple[float, float]]] = {}
    if element not in _db():
        return out
    for name, (e, w) in element_lines(element).items():
        if w >= MIN_LINE_WEIGHT and e > 0:
            out.setdefault(name.split("_")[1][0], {})[name] = (e, w)
    return out


def alpha_line(element: str, family: str) -> str:
    """Name of the strongest line of a family (``'Fe_Ka'``, ``'Pb_Ma'`` ...).

    Examples
    --------
    >>> alpha_line("Pb", "M")
    'Pb_Ma'
    """
    lines = families(element)[family]
    return max(lines, key=lambda n: (lines[n][1], -lines[n][0]))


@functools.cache
def family_edge(element: str, family: str) -> float:
    """Ionisation edge (keV) of the shell that emits a family's alpha line.

    eXSpy's binding energy of the K, L3 or M5 shell when it lists one; otherwise an estimate
    just above the family's highest line from that shell (K: Kβ × (1 + 0.00045 Z − 0.004);
    L3: Lβ2 × (1 + 0.0009 (Z − 45)), or Lα × (0.84 + 0.0062 Z) without Lβ2; M5: 1.1 Mα),
    which reproduces tabulated edges to about 1–2 %.

    Examples
    --------
    >>> family_edge("Fe", "K") < 7.2  # K edge of Fe 7.112 keV (estimated, eXSpy lists none)
    True
    >>> round(family_edge("Pb", "L"), 2)  # tabulated L3 13.035 keV
    13.04
    """
    z, _ = element_data(element)
    be = _binding_energies(element)
    for shell in _EDGE_SHELL[family]:
        if shell in be and be[shell] > 0:
            return be[shell]
    lines = families(element)[family]
    el = element
    if family == "K":
        top = lines.get(f"{el}_Kb", lines.get(f"{el}_Ka"))[0]
        ratio = 1.0 + max(0.00045 * z - 0.004, 0.003) if f"{el}_Kb" in lines else 1.05
        return top * ratio
    if family == "L":
        if f"{el}_Lb2" in lines:
            return lines[f"{el}_Lb2"][0] * (1.0 + max(0.0009 * (z - 45), 0.002))
        return lines[f"{el}_La"][0] * (0.84 + 0.0062 * z)
    return 1.1 * lines[alpha_line(el, "M")][0]


def fluorescence_yield(z: int, family: str) -> float:
    """Fluorescence yield of the K, L or M shell (Burhop's fit, Bambynek coefficients).

    Examples
    --------
    >>> round(fluorescence_yield(26, "K"), 2), round(fluorescence_yield(14, "K"), 3)
    (0.35, 0.047)
    """
    a, b, c = _OMEGA_COEF[family]
    d = a + b * z + c * z**3
    if d <= 0:
        return 1e-6
    d4 = d**4
    return d4 / (1.0 + d4)


def check_composition(composition: Mapping[str, float], name: str = "composition") -> dict:
    """``{element: weight fraction}`` normalised to 1, with every symbol checked.

    Examples
    --------
    >>> {k: round(v, 3) for k, v in check_composition({"Si": 46.7, "O": 53.3}).items()}
    {'Si': 0.467, 'O': 0.533}
    """
    if not isinstance(composition, Mapping) or not composition:
        raise bad_value(name, composition, "a non-empty mapping {element: weight fraction}")
    out = {}
    for el, v in composition.items():
        if not is_element(el):
            raise bad_value(name, dict(composition), f"chemical symbols only ({el!r} is not one)")
        v = float(v)
        if not math.isfinite(v) or v < 0:
            raise bad_value(name, dict(composition), "non-negative fractions")
        out[el] = v
    total = sum(out.values())
    if total <= 0:
        raise bad_value(name, dict(composition), "fractions with a positive sum")
    return {el: v / total for el, v in out.items()}


def _mixture(composition: Mapping[str, float]):
    z = np.array([element_data(el)[0] for el in composition], dtype=float)
    a = np.array([element_data(el)[1] for el in composition], dtype=float)
    c = np.array(list(composition.values()), dtype=float)
    return z, a, c


def stopping_power(energy, composition: Mapping[str, float]) -> np.ndarray:
    """Bethe stopping power (Joy–Luo form), keV cm² g⁻¹, of a mixture at electron energy (keV).

    Examples
    --------
    >>> round(float(stopping_power(20.0, {"Cu": 1.0})), -2)  # NIST ESTAR: 7.9e3 (collision)
    7700.0
    """
    z, a, c = _mixture(composition)
    zoa = c * z / a
    j = (9.76 * z + 58.5 * z**-0.19) * 1e-3
    ln_j = float(np.sum(zoa * np.log(j)) / np.sum(zoa))
    jm = math.exp(ln_j)
    e = np.asarray(energy, dtype=float)
    return 78500.0 * float(np.sum(zoa)) / e * np.log(1.166 * (e + 0.85 * jm) / jm)


def generated_intensity(
    element: str, family: str, composition: Mapping[str, float], beam_energy: float, kind: str
) -> float:
    """Generated X-rays of one family per unit weight fraction (arbitrary common unit).

    SEM: :math:`\\omega / A \\int_{E_c}^{E_0} Q(E) / S(E)\\, dE`; TEM: :math:`\\omega Q(E_0) / A`.
    Zero when the edge is not excited.

    Examples
    --------
    >>> comp = {"Fe": 0.7, "O": 0.3}
    >>> generated_intensity("Fe", "K", comp, 20.0, "SEM") > 0
    True
    >>> generated_intensity("Fe", "K", comp, 7.0, "SEM")
    0.0
    """
    z, a = element_data(element)
    ec = family_edge(element, family)
    e0 = float(beam_energy)
    if e0 <= ec * 1.0001:
        return 0.0
    pre = _BETHE_NB[family] * fluorescence_yield(z, family) / a
    if kind == "TEM":
        u0 = e0 / ec
        return pre * math.log(u0) / (u0 * ec**2) * 1e3
    e = ec * np.exp(np.linspace(0.0, math.log(e0 / ec), 48))
    u = e / ec
    q = np.log(u) / (u * ec**2)
    integrand = q / stopping_power(e, composition)
    return float(pre * np.trapezoid(integrand, e) * 1e6)


def continuum_generation(energy, composition: Mapping[str, float], beam_energy: float, kind: str):
    """Generated continuum per unit energy (same arbitrary unit as :func:`generated_intensity`).

    SEM: Kramers, :math:`k \\bar Z (E_0 - E)/E`; TEM: :math:`k \\sum c_j Z_j^2 / A_j / E`.

    Examples
    --------
    >>> c = continuum_generation([1.0, 10.0, 25.0], {"Si": 1.0}, 20.0, "SEM")
    >>> bool(c[0] > c[1] > 0), float(c[2])
    (True, 0.0)
    """
    z, a, c = _mixture(composition)
    e = np.asarray(energy, dtype=float)
    out = np.zeros_like(e)
    pos = (e > 0) & (e < beam_energy)
    if kind == "TEM":
        out[pos] = float(np.sum(c * z**2 / a)) / e[pos]
    else:
        out[pos] = float(np.sum(c * z)) * (beam_energy - e[pos]) / e[pos]
    return out


def peak_to_background(
    composition: Mapping[str, float], beam_energy: float, kind: str = "SEM",
    elements=None, energy_range: tuple[float, float] | None = None,
) -> dict[tuple[str, str], float]:
    """Predicted ratio of each family's counts to the continuum per keV at its alpha line.

    Multiply by the background (counts per keV) fitted under the line to get the line's
    predicted counts, up to one common scale factor.

    Parameters
    ----------
    composition : mapping
        ``{element: weight fraction}``.
    beam_energy : float
        kV.
    kind : {'SEM', 'TEM'}
    elements : iterable of str, optional
        Only these elements (default: all of the composition).
    energy_range : (float, float), optional
        Only families whose alpha line lies inside (keV).

    Returns
    -------
    dict
        ``{(element, family): ratio}`` for excited families.

    Examples
    --------
    >>> pb = peak_to_background({"Fe": 0.7, "O": 0.3}, 20.0)
    >>> sorted(pb)
    [('Fe', 'K'), ('Fe', 'L'), ('O', 'K')]
    """
    comp = check_composition(composition)
    out = {}
    for el in elements if elements is not None else comp:
        c = comp.get(el, 0.0)
        if c <= 0:
            continue
        for fam, lines in families(el).items():
            e_alpha = lines[alpha_line(el, fam)][0]
            if energy_range is not None and not energy_range[0] <= e_alpha <= energy_range[1]:
                continue
            g = generated_intensity(el, fam, comp, beam_energy, kind)
            if g <= 0:
                continue
            b = float(continuum_generation([e_alpha], comp, beam_energy, kind)[0])
            if b <= 0:
                continue
            out[(el, fam)] = c * g / b
    return out


def mass_absorption(energy, composition: Mapping[str, float]) -> np.ndarray:
    """Mass absorption coefficient (cm²/g) of a mixture, from eXSpy's FFAST tables.

    Elements eXSpy has no table for (H) are skipped.

    Examples
    --------
    >>> mu = mass_absorption([1.7, 1.9], {"Si": 1.0})
    >>> bool(mu[1] > 5 * mu[0])  # the Si K edge at 1.839 keV
    True
    """
    from exspy.material import mass_absorption_coefficient

    e = np.atleast_1d(np.asarray(energy, dtype=float))
    mu = np.zeros_like(e)
    ok = e > 0.03
    for el, c in composition.items():
        if c <= 0 or el == "H":
            continue
        try:
            mu[ok] += c * np.asarray(mass_absorption_coefficient(el, e[ok]), dtype=float)
        except AttributeError:  # eXSpy has no FFAST table for this element
            continue
    return mu


def absorption_factor(
    energy, composition: Mapping[str, float], beam_energy: float,
    takeoff_deg: float = DEFAULT_TAKEOFF_DEG,
) -> np.ndarray:
    """Philibert–Duncumb–Heinrich :math:`f(\\chi)` of X-rays of ``energy`` leaving a thick target.

    :math:`1/f = (1 + \\chi/\\sigma)(1 + h/(1+h)\\,\\chi/\\sigma)` with
    :math:`\\chi = \\mu/\\rho \\csc\\psi`, :math:`\\sigma = 4.5\\times10^5/(E_0^{1.65} - E^{1.65})`
    and :math:`h = 1.2 \\sum c_j A_j / Z_j^2`.

    Examples
    --------
    >>> f = absorption_factor([0.525, 6.4], {"Fe": 0.7, "O": 0.3}, 20.0)
    >>> bool(f[0] < f[1] <= 1)
    True
    """
    z, a, c = _mixture(composition)
    e = np.atleast_1d(np.asarray(energy, dtype=float))
    chi = mass_absorption(e, composition) / math.sin(math.radians(takeoff_deg))
    e_eff = np.minimum(e, 0.95 * beam_energy)
    sigma = 4.5e5 / (beam_energy**1.65 - e_eff**1.65)
    h = 1.2 * float(np.sum(c * a / z**2))
    x = chi / sigma
    return 1.0 / ((1.0 + x) * (1.0 + h / (1.0 + h) * x))


def detector_efficiency(energy) -> np.ndarray:
    """Generic silicon-drift detector efficiency: a thin polymer window and contacts.

    Transmission of 0.3 µm of polymer (taken as carbon, 1.4 g/cm³), 40 nm of aluminium and a
    30 nm silicon dead layer, times absorption in a 450 µm active silicon layer. Only the
    *shape* matters here: it is a starting point for the background fit, which then follows
    the real detector.

    Examples
    --------
    >>> t = detector_efficiency([0.28, 0.525, 1.5, 8.0, 30.0])
    >>> bool(t[1] < t[2]) and bool(t[3] > 0.9) and bool(t[4] < t[3])
    True
    """
    from exspy.material import mass_absorption_coefficient as mac

    e = np.atleast_1d(np.asarray(energy, dtype=float))
    out = np.zeros_like(e)
    ok = e > 0.05
    ee = e[ok]
    thick = (np.asarray(mac("C", ee)) * 1.4 * 0.3e-4 + np.asarray(mac("Al", ee)) * 2.7 * 40e-7
             + np.asarray(mac("Si", ee)) * 2.33 * 30e-7)  # fmt: skip
    active = 1.0 - np.exp(-np.asarray(mac("Si", ee)) * 2.33 * 0.045)
    out[ok] = np.exp(-thick) * active
    return out


def escape_fraction(energy) -> np.ndarray:
    """Fraction of photons of ``energy`` that give a Si Kα escape peak (Reed & Ware, 1972).

    :math:`P = \\tfrac12 \\omega_K (1 - 1/r)\\,[1 - (\\mu_K/\\mu_E) \\ln(1 + \\mu_E/\\mu_K)]`
    with the Si K jump ratio :math:`r = 10.8`, :math:`\\mu_K` Si's absorption of its own Kα and
    :math:`\\mu_E` of the incoming photon; zero below the Si K edge.

    Examples
    --------
    >>> p = escape_fraction([1.5, 2.0, 6.4])
    >>> float(p[0]), bool(0.005 < p[1] < 0.03), bool(p[2] < p[1])
    (0.0, True, True)
    """
    from exspy.material import mass_absorption_coefficient as mac

    e = np.atleast_1d(np.asarray(energy, dtype=float))
    out = np.zeros_like(e)
    above = e > 1.839
    if np.any(above):
        mu_e = np.asarray(mac("Si", e[above]), dtype=float)
        mu_k = float(np.asarray(mac("Si", [1.7398]))[0])
        omega = fluorescence_yield(14, "K")
        ratio = mu_k / mu_e
        out[above] = 0.5 * omega * (1 - 1 / 10.8) * (1 - ratio * np.log1p(1 / ratio))
    return out


def composition_detectable_elements(
    composition: Mapping[str, float], beam_energy: float, energy_range: tuple[float, float],
    min_fraction: float = 0.0,
) -> list[str]:
    """Elements of a composition with an excited line in ``energy_range`` (keV).

    Examples
    --------
    >>> composition_detectable_elements({"Al": 0.5, "O": 0.4, "H": 0.1}, 20.0, (0.2, 20.0))
    ['Al', 'O']
    """
    out = []
    for el, c in composition.items():
        if c <= min_fraction or el in EXCLUDED_ELEMENTS:
            continue
        for fam, lines in families(el).items():
            e_a = lines[alpha_line(el, fam)][0]
            if energy_range[0] <= e_a <= min(energy_range[1], beam_energy) and (
                family_edge(el, fam) < beam_energy
            ):
                out.append(el)
                break
    return out
