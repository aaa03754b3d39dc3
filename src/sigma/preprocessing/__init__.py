"""Pure, vectorised kernels on arrays (NumPy in → NumPy out, dask in → dask out).

Binning, per-pixel spectrum normalisation, X-ray line feature maps and feature normalisation.
None of them modifies its input unless asked to write into ``out``.
"""

from .binning import bin_image, rebin_cube
from .features import feature_maps, line_windows
from .normalisation import neighbour_averaging, softmax, zscore
from .spectra import normalise_spectra

__all__ = [
    "bin_image",
    "rebin_cube",
    "feature_maps",
    "line_windows",
    "neighbour_averaging",
    "softmax",
    "zscore",
    "normalise_spectra",
]
