"""What :func:`sigma.identify.elements.detect_elements` returns: the elements found in one
spectrum, their lines' net counts, uncertainties and significance, and the fit they came from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .fitting import Calibration, LinearFit, SpectrumFitter

#: Fewer summed counts than this and a spectrum is reported as "insufficient counts".
MIN_COUNTS = 1000


@dataclass
class LineIntensity:
    """Net counts of one line family of an element.

    Attributes
    ----------
    line : str
        Its alpha line, e.g. ``'Fe_Ka'``.
    energy : float
        keV.
    net, sigma : float
        Net counts of the whole family (escape peaks included) and their standard deviation.
    background : float
        Modelled background counts within ±1 FWHM of the line.

    Examples
    --------
    >>> ln = LineIntensity("Fe_Ka", 6.404, net=900.0, sigma=35.0, background=400.0)
    >>> ln.above_3_sqrt_b, ln.to_dict()["net"]
    (True, 900.0)
    """

    line: str
    energy: float
    net: float
    sigma: float
    background: float

    @property
    def above_3_sqrt_b(self) -> bool:
        """The classical detection criterion net > 3√B."""
        return self.net > 3.0 * math.sqrt(max(self.background, 0.0))

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"line": self.line, "energy_keV": round(self.energy, 4), "net": float(self.net),
                "sigma": float(self.sigma), "background": float(self.background),
                "above_3_sqrt_b": bool(self.above_3_sqrt_b)}  # fmt: skip


@dataclass
class ElementIntensity:
    """An element found in a spectrum.

    Attributes
    ----------
    element : str
    net, sigma : float
        Counts (and standard deviation) in its strongest family.
    significance : float
        :math:`\\sqrt{\\Delta\\chi^2}` of removing the element from the fit.
    peak_to_background : float
        ``net`` divided by the background per keV under its alpha line (keV).
    lines : list of LineIntensity
    ambiguous_with : list of str
        Elements that explain the same peaks within the significance threshold.

    Examples
    --------
    >>> el = ElementIntensity("S", 5000.0, 200.0, 25.0, 3.1, [], ambiguous_with=["Mo"])
    >>> el.ambiguous, el.label
    (True, 'S/Mo')
    """

    element: str
    net: float
    sigma: float
    significance: float
    peak_to_background: float
    lines: list[LineIntensity]
    ambiguous_with: list[str] = field(default_factory=list)

    @property
    def ambiguous(self) -> bool:
        """Whether another element explains the same peaks."""
        return bool(self.ambiguous_with)

    @property
    def label(self) -> str:
        """``'Fe'`` or ``'S/Mo'`` when ambiguous."""
        return "/".join([self.element, *self.ambiguous_with])

    def to_dict(self) -> dict:
        """JSON-ready fields, lines included."""
        return {"element": self.element, "net": float(self.net), "sigma": float(self.sigma),
                "significance": float(self.significance),
                "peak_to_background_keV": float(self.peak_to_background),
                "ambiguous_with": list(self.ambiguous_with),
                "lines": [ln.to_dict() for ln in self.lines]}  # fmt: skip


@dataclass
class ElementReport:
    """Elements found in one spectrum, and the fit they came from.

    Attributes
    ----------
    elements : list of ElementIntensity
        Significant elements, strongest first.
    total_counts : float
        Counts of the spectrum.
    calibration : Calibration
        Refined energy offset, gain and FWHM.
    min_significance : float
    sum_peaks : list of str
        Pile-up peaks included as nuisance terms.
    fitter : SpectrumFitter
    fit : LinearFit
        The final fit (None when there were too few counts).
    insufficient : bool
        True when the spectrum has fewer than ``min_counts`` counts.

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.identify import detect_elements
    >>> from sigma.synthetic import energy_axis
    >>> e = energy_axis(512, 0.04, 0.0)
    >>> rep = detect_elements(np.ones(512), e, beam_energy=20.0)  # 512 counts in all
    >>> rep.insufficient, rep.present, rep.summary()
    (True, [], '')
    """

    elements: list[ElementIntensity]
    total_counts: float
    calibration: Calibration
    min_significance: float
    sum_peaks: list[str]
    fitter: SpectrumFitter | None = None
    fit: LinearFit | None = None
    insufficient: bool = False
    min_counts: float = MIN_COUNTS
    sum_peak_terms: list = field(default_factory=list)

    @property
    def present(self) -> list[str]:
        """Symbols of the elements found (the first candidate of an ambiguous group)."""
        return [e.element for e in self.elements]

    def get(self, element: str) -> ElementIntensity | None:
        """The entry of an element, or None when it was not found."""
        for e in self.elements:
            if e.element == element:
                return e
        return None

    def summary(self) -> str:
        """``'Fe, Ti, O'``; ambiguous ones as ``'S/Mo'``."""
        return ", ".join(e.label for e in self.elements)

    def to_dict(self) -> dict:
        """JSON-ready report (calibration, sum peaks, elements with their lines)."""
        c = self.calibration
        return {"total_counts": float(self.total_counts), "insufficient_counts": self.insufficient,
                "min_significance": self.min_significance,
                "calibration": {"shift_keV": c.shift, "gain": c.gain, "fwhm_mnka_eV": c.fwhm_mnka},
                "sum_peaks": list(self.sum_peaks),
                "elements": [e.to_dict() for e in self.elements]}  # fmt: skip
