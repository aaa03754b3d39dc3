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
from .overlaps import COMMON_INTERFERENCES, line_overlaps

__all__ = [
    "COMMON_INTERFERENCES",
    "DEFAULT_FWHM_MNKA_EV",
    "default_lines_for_elements",
    "element_lines",
    "fwhm",
    "is_xray_line",
    "line_energy",
    "line_overlaps",
    "line_weight",
    "lines_near_energy",
    "propose_lines_from_spectrum",
]
