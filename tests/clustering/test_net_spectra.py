"""``PixelSegmenter.get_cluster_spectra("net")`` / ``get_net_spectra``: TEM maps only, one pass."""

from __future__ import annotations

import numpy as np
import pytest

from sigma._errors import SigmaValueError
from sigma.clustering import PixelSegmenter
from sigma.datasets import SEMDataset, TEMDataset
from sigma.synthetic.family import make_grain_phantom, make_particle_phantom
from sigma.synthetic.metrics import spectral_angle


def _segmenter(ph, cls):
    lab = ph.labels
    return PixelSegmenter.from_labels(np.zeros((lab.size, 2)), cls(ph.to_signal()), lab,
                                      features=np.zeros((*lab.shape, 1), np.float32), feature_list=["x"])


@pytest.fixture(scope="module")
def tem_ph():
    return make_particle_phantom((96, 96), counts_per_pixel=400, n_channels=1024, energy_scale=0.02,
                                 particles={"core-shell": 2, "gold": 2, "ceria": 2, "titania": 2}, seed=3)


def test_net_spectra_of_a_tem_map(tem_ph, monkeypatch):
    import sigma.unmixing.spectra as spectra_mod

    calls = []
    real = spectra_mod.cluster_spectra
    monkeypatch.setattr(spectra_mod, "cluster_spectra", lambda *a, **k: calls.append(1) or real(*a, **k))
    ps = _segmenter(tem_ph, TEMDataset)
    total = ps.get_cluster_spectra("sum")
    net = ps.get_cluster_spectra("net")
    res = ps.get_net_spectra()
    assert ps.get_net_spectra() is res and np.array_equal(net, res.spectra)
    ps.get_net_spectra(film=None)
    ps.get_cluster_spectra("core")
    assert calls == [1]  # every kind from the one pass
    # the pass's extra groups (rims) add up to the same sums as a plain pass
    np.testing.assert_array_equal(total, real(tem_ph.spectra, tem_ph.labels))
    names = tem_ph.phase_names
    assert res.film == 0 and "5 of the 5 others lie on it" in res.film_reason
    assert res.hosts == {names.index("magnetite"): names.index("silica")}
    ang = spectral_angle(tem_ph.phase_spectra, net)
    assert ang.max() < 3.0
    assert spectral_angle(tem_ph.phase_spectra, ps.get_cluster_spectra("core"))[1:].min() > 8.0
    # no film and no peeling: the core spectra
    plain = ps.get_net_spectra(film=None, peel=False)
    assert plain.film is None and plain.hosts == {}
    np.testing.assert_allclose(plain.spectra, ps.get_cluster_spectra("core"), rtol=1e-12)
    # no film, peeling on: a particle the film surrounds is peeled off it like a core off its
    # shell (the same physics, the factor fitted instead of 1)
    nofilm = ps.get_net_spectra(film=None)
    assert {nofilm.hosts[i] for i in (3, 4, 5)} == {0}
    assert 0.9 < nofilm.factors[3] < 1.2


def test_segmenter_matches_the_pixel_masks_of_net_pixels(tem_ph):
    """The pass's rim sums give the same spectra as the means over
    :func:`~sigma.unmixing.net.net_pixels` (what benchmarks/bench_phases.py computes)."""
    from sigma.unmixing.net import net_pixels, net_spectra, peel_hosts, pick_film, window_channels
    from sigma.unmixing.spectra import cluster_spectra

    ps = _segmenter(tem_ph, TEMDataset)
    lab = tem_ph.labels
    film, _ = pick_film(ps.get_cluster_spectra("core"), lab)
    sel = np.where(net_pixels(lab, film, peel_hosts(lab, film=film)), lab, -1)
    n = np.bincount(sel[sel >= 0])
    means = cluster_spectra(tem_ph.spectra, sel) / n[:, None]
    want = net_spectra(means, n, lab, film=film, window=window_channels(tem_ph.energy_axis))
    got = ps.get_net_spectra()
    assert got.factors == pytest.approx(want.factors)
    np.testing.assert_allclose(got.spectra, want.spectra, rtol=1e-12, atol=1e-12)


def test_net_spectra_refused_on_an_sem_map():
    ph = make_grain_phantom((48, 48), n_phases=4, counts_per_pixel=20, n_channels=256, energy_scale=0.04, seed=1)
    ps = _segmenter(ph, SEMDataset)
    with pytest.raises(SigmaValueError, match=r"'kind' parameter must be 'sum', 'mean', 'core' or 'pure' on a bulk \(SEM\) map"):
        ps.get_cluster_spectra("net")
    with pytest.raises(SigmaValueError, match="bulk"):
        ps.get_net_spectra()
    with pytest.raises(SigmaValueError, match="'sum', 'mean', 'core', 'pure' or 'net'"):
        ps.get_cluster_spectra("nett")
