"""Synthetic EDS phantoms with a known ground truth, for the demo, tests and benchmarks.

Examples
--------
>>> from sigma.synthetic import make_phantom, ground_truth_ari
>>> ph = make_phantom((8, 8), n_channels=256, energy_scale=0.08)
>>> ground_truth_ari(ph.labels, ph)
1.0
"""

from .demo import demo_high_res_path, demo_path, demo_phantom
from .examples import tiny_dataset, tiny_segmenter
from .family import (
    binned_truth,
    family_specs,
    make_family_phantom,
    make_grain_phantom,
    make_particle_phantom,
)
from .generate import make_phantom, write_large_phantom
from .maps import mixed_abundances, phase_map
from .metrics import ground_truth_ari, spectral_angle
from .phantom import Phantom
from .spectra import (
    DEFAULT_SEM_PHASES,
    DEFAULT_TEM_PHASES,
    energy_axis,
    formula_to_weight_fractions,
    line_intensities,
    mean_atomic_number,
    phase_spectrum,
)

__all__ = [
    "demo_high_res_path",
    "demo_path",
    "demo_phantom",
    "DEFAULT_SEM_PHASES",
    "DEFAULT_TEM_PHASES",
    "Phantom",
    "binned_truth",
    "energy_axis",
    "family_specs",
    "formula_to_weight_fractions",
    "ground_truth_ari",
    "line_intensities",
    "make_family_phantom",
    "make_grain_phantom",
    "make_particle_phantom",
    "make_phantom",
    "mean_atomic_number",
    "mixed_abundances",
    "phase_map",
    "phase_spectrum",
    "spectral_angle",
    "tiny_dataset",
    "tiny_segmenter",
    "write_large_phantom",
]
