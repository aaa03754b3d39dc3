"""Whole-spectrum features of a dataset (issue 10 item 3): ``spectral_decomposition`` and
``normalised_features``, the same path as ``sigma run``'s ``features.source``."""

from __future__ import annotations

import numpy as np
import pytest

from sigma._errors import SigmaValueError
from sigma.datasets import SEMDataset
from sigma.pipeline.config import validate_config
from sigma.pipeline.stages import latent_input, prepare_dataset
from sigma.preprocessing.normalisation import apply_chain
from sigma.preprocessing.spectral_features import spectral_decomposition
from sigma.synthetic import make_phantom, tiny_dataset
from sigma.utils import normalisation as norm


@pytest.fixture
def sem():
    ds = SEMDataset(make_phantom((12, 16), n_channels=256, energy_scale=0.04, counts_per_pixel=80,
                                 seed=1).to_signal())
    ds.set_feature_list(["Fe_Ka", "Si_Ka", "Ca_Ka"])
    return ds


def test_decomposition_is_that_of_the_analysis_counts_and_is_kept_until_the_next_step(sem):
    d = sem.spectral_decomposition(n_components=4, n_bands=32)
    ref = spectral_decomposition(sem.analysis_spectra.data, 4, 32)
    np.testing.assert_allclose(d.scores, ref.scores, rtol=1e-5, atol=1e-5)
    r = d.explained_variance_ratio
    assert r.shape == (4,) and np.all(np.diff(r) <= 0) and 0 < r.sum() <= 1
    assert d.edges[0] == 0 and d.edges[-1] == sem.analysis_spectra.data.shape[-1]
    assert sem.spectral_decomposition(n_components=4, n_bands=32) is d  # kept
    sem.rebin_signal((2, 2))
    d2 = sem.spectral_decomposition(n_components=4, n_bands=32)
    assert d2 is not d and d2.scores.shape == (6, 8, 4)  # a new grid, a new decomposition


def test_normalised_features_lines_spectrum_and_both(sem):
    chain = [norm.neighbour_averaging, norm.zscore]
    lines = np.asarray(sem.normalisation(chain))
    assert np.array_equal(sem.normalised_features("lines"), lines)
    spec = sem.normalised_features("spectrum", n_components=3)
    want = apply_chain(sem.spectral_features(3), chain)
    np.testing.assert_allclose(spec, want, rtol=1e-6)
    np.testing.assert_allclose(spec.reshape(-1, 3).std(0), 1, rtol=1e-3)  # z-scored as the lines
    both = sem.normalised_features("both", n_components=3)
    assert both.shape == (12, 16, 6)
    np.testing.assert_array_equal(both[..., :3], lines)
    np.testing.assert_array_equal(both[..., 3:], spec)
    assert sem.normalised_feature_names("both", 3) == ["Fe_Ka", "Si_Ka", "Ca_Ka", "PC1", "PC2", "PC3"]
    # an explicit chain normalises anew and leaves the dataset as it was
    raw = sem.normalised_features("both", n_components=3, norm_list=[])
    np.testing.assert_allclose(raw[..., 3:], sem.spectral_features(3))
    np.testing.assert_array_equal(sem.normalised_elemental_data, lines)


def test_normalised_features_refuses_bad_input():
    ds = tiny_dataset()
    with pytest.raises(SigmaValueError, match=r"'source' parameter .*one of 'lines', 'spectrum', 'both'.*'pca'"):
        ds.normalised_features("pca")
    with pytest.raises(SigmaValueError, match=r"'source' parameter .*normalisation.*Got 'both'"):
        ds.normalised_features("both")
    assert ds.normalised_features("spectrum", n_components=2, n_bands=16).shape == (8, 8, 2)


def test_sigma_run_and_the_notebook_build_the_same_latent_input():
    cfg = validate_config({"preprocess": {"bin": [2, 2]}, "features": {"source": "both", "spectrum_components": 3}})
    ph = make_phantom((12, 16), n_channels=256, energy_scale=0.08, counts_per_pixel=60, seed=2)
    ds = prepare_dataset(ph.to_signal(), cfg)
    x = latent_input(ds, cfg)
    nb = ds.normalised_features("both", n_components=3)
    np.testing.assert_array_equal(x, np.asarray(nb).reshape(-1, nb.shape[-1]))


def test_invalid_pixels_stay_out_of_the_decomposition(tmp_path):
    from sigma.io.h5oina import write_h5oina

    ph = make_phantom((16, 20), counts_per_pixel=120, n_channels=512, energy_scale=0.04, seed=3)
    mask = np.ones((16, 20), bool)
    mask[:2] = False
    p = tmp_path / "scan.h5oina"
    write_h5oina(p, ph.spectra.astype(np.int32), energy_scale=0.04, elements=("Si", "Fe", "Ca"),
                 scan_mask=mask, bse_image=ph.nav_img)
    ds = SEMDataset(p)
    d = ds.spectral_decomposition(n_components=3, n_bands=32)
    assert not d.scores[~mask].any()
    counts = np.nan_to_num(np.asarray(ds.analysis_spectra.data, dtype=np.float64))
    ref = spectral_decomposition(counts[2:], 3, 32)  # the scanned rows alone
    np.testing.assert_allclose(np.abs(d.scores[2:]), np.abs(ref.scores), rtol=1e-4, atol=1e-4)
