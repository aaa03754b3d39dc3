"""Unmixing of cluster spectra: per-cluster spectra, NMF, seeded NMF, abundance maps.

Examples
--------
>>> import numpy as np
>>> from sigma.unmixing import nnls_abundances
>>> nnls_abundances(np.array([[2.0, 4.0]]), np.array([[1.0, 2.0]])).round(6).tolist()
[[2.0]]
"""

from sigma.unmixing.nmf import nnls_abundances, seeded_initialisation, spectral_angle, unmix_spectra
from sigma.unmixing.spectra import cluster_spectra, core_pixels, iter_row_blocks

__all__ = [
    "cluster_spectra",
    "core_pixels",
    "iter_row_blocks",
    "nnls_abundances",
    "seeded_initialisation",
    "spectral_angle",
    "unmix_spectra",
]
