"""What each phase is: elements present, identification against a phase library, modal
statistics.

* :func:`detect_elements` — the X-ray lines significantly above a background modelled under
  them, with net counts, uncertainties, significance and overlaps reported as ambiguous.
* :func:`default_library` / :class:`PhaseLibrary` — about 290 phases with ideal compositions and
  sources; user entries, reference spectra, restriction by class or group.
* :func:`identify_spectrum`, :func:`identify_spectra`, :func:`identify_clusters` — ranked
  candidates with χ², p-value and "unknown" when nothing fits within noise and model error.
* :func:`review_lines` — a feature list checked against each cluster's spectrum: the line of an
  element only a minority phase carries, added; a proposed line on another element's peak, removed.
* :func:`modal_statistics` — area %, grains, equivalent circle diameters, phase association.
* :func:`cliff_lorimer` — TEM element ratios through eXSpy's quantification.

Examples
--------
>>> import numpy as np
>>> from sigma.identify import default_library, identify_spectrum
>>> from sigma.synthetic import energy_axis, phase_spectrum
>>> e = energy_axis(2048, 0.01, -0.2)
>>> y = np.random.default_rng(0).poisson(5e4 * phase_spectrum("NaCl", e))
>>> identify_spectrum(y, e, beam_energy=20.0).name
'halite NaCl'
"""

from .clusters import ClusterIdentification, identify_clusters
from .elements import ElementIntensity, ElementReport, LineIntensity, detect_elements
from .library import (
    Phase,
    PhaseLibrary,
    ReferenceSpectrum,
    default_library,
    formula_weight_fractions,
    parse_formula,
    pretty_formula,
    read_library,
)
from .match import (
    MIN_P_VALUE,
    Candidate,
    PhaseIdentification,
    identify_spectra,
    identify_spectrum,
)
from .minor_lines import LineReview, review_lines
from .modal import ModalStatistics, modal_statistics
from .quant import cliff_lorimer

__all__ = [
    "MIN_P_VALUE",
    "Candidate",
    "ClusterIdentification",
    "ElementIntensity",
    "ElementReport",
    "LineIntensity",
    "LineReview",
    "ModalStatistics",
    "Phase",
    "PhaseIdentification",
    "PhaseLibrary",
    "ReferenceSpectrum",
    "cliff_lorimer",
    "default_library",
    "detect_elements",
    "formula_weight_fractions",
    "identify_clusters",
    "identify_spectra",
    "identify_spectrum",
    "modal_statistics",
    "parse_formula",
    "pretty_formula",
    "read_library",
    "review_lines",
]
