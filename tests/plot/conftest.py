"""Small datasets and segmenters for the figure-builder tests."""

from __future__ import annotations

import numpy as np
import pytest


def pixel_segmenter_class():
    try:
        from sigma.clustering import PixelSegmenter
    except ImportError:  # the package __init__ may not re-export it yet
        from sigma.clustering.segmenter import PixelSegmenter
    return PixelSegmenter


class NearestCentre:
    """A fast deterministic clusterer (``fit_predict``): nearest of fixed centres; points
    farther than ``noise_radius`` from every centre are noise (-1)."""

    def __init__(self, centres, noise_radius=None):
        self.centres = np.asarray(centres, dtype=float)
        self.noise_radius = noise_radius

    def fit_predict(self, x):
        d = np.linalg.norm(np.asarray(x, float)[:, None, :2] - self.centres[None], axis=-1)
        lab = d.argmin(1)
        if self.noise_radius is not None:
            lab[d.min(1) > self.noise_radius] = -1
        return lab


@pytest.fixture(scope="session")
def odd_axis_sem():
    """SEM phantom on an unusual energy axis (13.7 eV/channel, offset -0.213 keV)."""
    from sigma.datasets import SEMDataset
    from sigma.synthetic import make_phantom

    ph = make_phantom((16, 20), counts_per_pixel=400, n_channels=700, energy_scale=0.0137,
                      energy_offset=-0.213, seed=3)
    return SEMDataset(ph.to_signal())


@pytest.fixture(scope="session")
def clustered():
    """A processed SEM dataset and a GMM PixelSegmenter on a PCA latent space."""
    from sklearn.decomposition import PCA

    from sigma.datasets import SEMDataset
    from sigma.synthetic import make_phantom
    from sigma.utils import normalisation as norm

    ph = make_phantom((20, 24), counts_per_pixel=300, n_channels=400, energy_scale=0.025,
                      energy_offset=-0.1, seed=2)
    sem = SEMDataset(ph.to_signal())
    sem.rebin_signal((2, 2))
    sem.peak_intensity_normalisation()
    sem.remove_first_peak(0.1)
    sem.normalisation([norm.neighbour_averaging, norm.zscore])
    latent = PCA(2, random_state=0).fit_transform(sem.normalised_elemental_data.reshape(-1, len(sem.feature_list)))
    ps = pixel_segmenter_class()(latent, sem, "GaussianMixture", {"n_components": 5, "random_state": 0})
    return sem, ps
