"""Whole-spectrum features: equal-count energy bands, band counts, Poisson-scaled PCA."""

from __future__ import annotations

import numpy as np
import pytest

from sigma._errors import SigmaValueError
from sigma.preprocessing.spectral_features import (
    band_counts,
    energy_bands,
    poisson_pca,
    spectral_features,
)


def test_bands_hold_equal_shares_of_the_counts():
    rng = np.random.default_rng(0)
    spec = rng.gamma(0.3, 100.0, 2000)  # peaky, like an EDS sum spectrum
    edges = energy_bands(spec, 32)
    assert edges[0] == 0 and edges[-1] == 2000 and np.all(np.diff(edges) > 0)
    shares = np.add.reduceat(spec, edges[:-1]) / spec.sum()
    # every band within a factor of the largest single channel of its share (1/32)
    assert shares.max() < 1 / 32 + spec.max() / spec.sum() + 1e-12
    assert len(edges) - 1 >= 28  # a few bands may merge where one channel exceeds a share


def test_bands_of_an_empty_spectrum_are_even():
    assert energy_bands(np.zeros(10), 5).tolist() == [0, 2, 4, 6, 8, 10]


def test_band_counts_equal_sums_and_dask_equals_numpy():
    import dask.array as da

    rng = np.random.default_rng(1)
    cube = rng.poisson(2.0, (7, 5, 40)).astype(np.uint16)
    edges = energy_bands(cube.sum((0, 1)), 6)
    y = band_counts(cube, edges)
    ref = np.stack([cube[..., a:b].sum(-1) for a, b in zip(edges[:-1], edges[1:], strict=True)], -1)
    assert y.dtype == np.float32 and np.array_equal(y, ref)
    assert np.array_equal(band_counts(da.from_array(cube, chunks=(2, 5, 40)), edges), y)
    assert y.sum() == cube.sum()  # counts are conserved


@pytest.mark.parametrize("edges", [[0, 5], [1, 40], [0, 20, 20, 40]])
def test_band_counts_rejects_bad_edges(edges):
    with pytest.raises(SigmaValueError, match="'edges' parameter must be increasing channel edges from 0 to 40"):
        band_counts(np.zeros((2, 2, 40)), edges)


def test_poisson_pca_separates_two_phases_and_orders_components():
    rng = np.random.default_rng(2)
    a, b = rng.dirichlet(np.ones(30)), rng.dirichlet(np.ones(30))
    truth = rng.integers(0, 2, 400)
    x = rng.poisson(60 * np.stack([a, b])[truth])
    scores, comps, var = poisson_pca(x, 3)
    assert scores.shape == (400, 3) and comps.shape == (3, 30)
    assert np.all(np.diff(var) <= 0)
    split = scores[:, 0] > np.median(scores[:, 0])
    agree = max(np.mean(split == truth), np.mean(split != truth))
    assert agree > 0.99
    # the noise components have about unit variance after the Poisson scaling
    assert 0.5 < var[2] < 2.0


def test_spectral_features_is_a_map_of_scores():
    rng = np.random.default_rng(3)
    a, b = rng.dirichlet(np.ones(64)), rng.dirichlet(np.ones(64))
    truth = np.zeros((12, 16), int)
    truth[:, 8:] = 1
    cube = rng.poisson(100 * np.stack([a, b])[truth]).astype(np.uint16)
    f = spectral_features(cube, n_components=4, n_bands=16)
    assert f.shape == (12, 16, 4) and f.dtype == np.float32
    gap = abs(f[..., 0][truth == 0].mean() - f[..., 0][truth == 1].mean())
    assert gap > 5 * max(f[..., 0][truth == 0].std(), f[..., 0][truth == 1].std())


def test_dataset_hook_reads_the_counts():
    from sigma.datasets import SEMDataset
    from sigma.synthetic import make_phantom

    ds = SEMDataset(make_phantom((12, 16), n_channels=256, energy_scale=0.04, seed=1).to_signal())
    ds.rebin_signal((2, 2))
    ds.peak_intensity_normalisation()
    f = ds.spectral_features(3, 32)
    assert f.shape == (6, 8, 3)
    assert np.allclose(f, spectral_features(ds.spectra_raw.data, 3, 32))
