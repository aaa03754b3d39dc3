"""X-ray line lookup (eXSpy's database), the detector FWHM model and energy search."""

from .lines import (
    DEFAULT_FWHM_MNKA_EV,
    default_lines_for_elements,
    element_lines,
    fwhm,
    is_xray_line,
    line_energy,
    line_weight,
    lines_near_energy,
    propose_lines_from_spectrum,
)

__all__ = [
    "DEFAULT_FWHM_MNKA_EV",
    "default_lines_for_elements",
    "element_lines",
    "fwhm",
    "is_xray_line",
    "line_energy",
    "line_weight",
    "lines_near_energy",
    "propose_lines_from_spectrum",
]
