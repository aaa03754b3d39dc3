"""Fixtures: a generated 3-phase dataset (duck-typed SEMDataset) and segmenters on it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_spec = importlib.util.spec_from_file_location(
    "sigma_test_toydata", Path(__file__).with_name("toydata.py")
)
toydata = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(toydata)


@pytest.fixture(scope="session")
def toy():
    return toydata.ToyDataset()


@pytest.fixture(scope="session")
def toy_latent(toy):
    return toy.latent()


@pytest.fixture(scope="session")
def noisy_latent(toy_latent):
    """The toy latent with 40 pixels thrown far out, so HDBSCAN finds noise."""
    rng = np.random.default_rng(7)
    lat = toy_latent.copy()
    lat[rng.choice(len(lat), 40, replace=False)] = rng.uniform(-12, 12, (40, 2))
    return lat


@pytest.fixture(scope="session")
def _ps_gmm(toy, toy_latent):
    from sigma.clustering import PixelSegmenter

    return PixelSegmenter(
        toy_latent, toy, "GaussianMixture", {"n_components": 6, "random_state": 0}
    )


@pytest.fixture(scope="session")
def _ps_hdb(toy, noisy_latent):
    from sigma.clustering import PixelSegmenter

    return PixelSegmenter(noisy_latent, toy, "HDBSCAN", {"min_cluster_size": 10, "min_samples": 5})


@pytest.fixture
def ps_gmm(_ps_gmm):
    """A fresh copy per test (fitting once per session keeps the suite fast)."""
    return _ps_gmm.copy()


@pytest.fixture
def ps_hdb(_ps_hdb):
    return _ps_hdb.copy()
