"""Spectra for the identification tests: the phantom generator's noiseless phase spectra on a
1024-channel, 20 eV axis (fast to fit), sampled with a fixed seed. Loaded by file path (as
``tests/clustering/toydata.py``), not as ``conftest``, which another folder's would shadow."""

from __future__ import annotations

import numpy as np

from sigma.synthetic import energy_axis, phase_spectrum

E = energy_axis(1024, 0.02, -0.1)


def counts(composition, total=3e4, seed=0, beam_energy=20.0, kind="SEM", axis=E):
    """Poisson counts of a phase spectrum summing to about ``total``."""
    spec = phase_spectrum(composition, axis, beam_energy=beam_energy, kind=kind)
    return np.random.default_rng(seed).poisson(total * spec).astype(np.float64)
