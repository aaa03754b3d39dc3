"""The tiny ready examples used by the docstrings of sigma.gui and sigma.plot."""

from __future__ import annotations

import numpy as np
import pytest

from sigma._errors import SigmaValueError
from sigma.synthetic import make_phantom, tiny_dataset, tiny_segmenter


def test_tiny_dataset_is_the_phantom():
    sem = tiny_dataset((6, 7), features=["Si_Ka", "Fe_Ka"], seed=3)
    ph = make_phantom((6, 7), n_channels=256, energy_scale=0.04, seed=3)
    np.testing.assert_array_equal(sem.spectra.data, ph.spectra)
    np.testing.assert_array_equal(sem.nav_img.data, ph.nav_img)
    assert sem.feature_list == ["Si_Ka", "Fe_Ka"]
    assert sem.normalised_elemental_data is None


def test_tiny_segmenter_fits_the_zscored_features():
    sem, ps = tiny_segmenter(n_clusters=4)
    z = sem.normalised_elemental_data
    assert z.shape == (8, 8, 3)
    np.testing.assert_allclose(z.reshape(-1, 3).mean(0), 0, atol=1e-5)
    np.testing.assert_array_equal(ps.latent, z.reshape(-1, 3)[:, :2])
    assert ps.dataset is sem and ps.labels.shape == (8, 8) and ps.n_clusters == 4
    _, again = tiny_segmenter(n_clusters=4)
    np.testing.assert_array_equal(again.labels, ps.labels)


def test_tiny_dataset_bad_feature_names_it():
    with pytest.raises(SigmaValueError, match=r"'feature_list' .* Got 'Fe_K' instead"):
        tiny_dataset(features=["Fe_K"])
