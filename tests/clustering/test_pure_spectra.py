"""PixelSegmenter.get_pure_spectra / get_cluster_spectra("pure") (sigma.unmixing.boundary)."""

from __future__ import annotations

import numpy as np
import pytest

from sigma._errors import SigmaValueError
from sigma.clustering import PixelSegmenter
from sigma.datasets import SEMDataset, TEMDataset
from sigma.synthetic.family import make_grain_phantom, make_particle_phantom
from sigma.synthetic.metrics import spectral_angle
from sigma.unmixing.boundary import pure_spectra


def _segmenter(ph, cls):
    lab = ph.labels
    return PixelSegmenter.from_labels(np.zeros((lab.size, 2)), cls(ph.to_signal()), lab,
                                      features=np.zeros((*lab.shape, 1), np.float32), feature_list=["x"])


def test_pure_spectra_of_an_sem_map():
    """The segmenter's pure spectra are the module's on its cube and labels, cached until the
    labels change, and bring the inclusion closer to its phase than its mean."""
    ph = make_grain_phantom((64, 64), n_phases=4, counts_per_pixel=80, n_channels=512, energy_scale=0.04,
                            seed=4, inclusions=4)
    ps = _segmenter(ph, SEMDataset)
    res = ps.get_pure_spectra()
    assert ps.get_pure_spectra() is res
    np.testing.assert_array_equal(ps.get_cluster_spectra("pure"), res.spectra)
    want = pure_spectra(np.asarray(ps.dataset.analysis_spectra.data), ph.labels, weight_smoothing=5 * 0.01 / 0.04)
    np.testing.assert_allclose(res.spectra, want.spectra, rtol=1e-9)
    inc = len(ph.phase_names) - 1
    mean = ps.get_cluster_spectra("mean")
    assert spectral_angle(ph.phase_spectra[inc], res.spectra[inc]) < spectral_angle(ph.phase_spectra[inc], mean[inc])
    ps.merge_clusters([0, 1])  # an edit: the cache goes
    assert ps.get_pure_spectra() is not res and len(ps.get_pure_spectra().spectra) == 3


def test_pure_spectra_refused_on_a_tem_map():
    ph = make_particle_phantom((48, 48), counts_per_pixel=100, n_channels=256, energy_scale=0.04,
                               particles={"gold": 2, "ceria": 2}, seed=1)
    ps = _segmenter(ph, TEMDataset)
    with pytest.raises(SigmaValueError, match=r"'sum', 'mean', 'core' or 'net' on a thin-sample"):
        ps.get_cluster_spectra("pure")
