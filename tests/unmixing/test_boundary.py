"""Boundary-corrected ("pure") cluster spectra: sigma.unmixing.boundary."""

from __future__ import annotations

import numpy as np
import pytest

from sigma._errors import SigmaValueError
from sigma.synthetic import make_grain_phantom
from sigma.synthetic.metrics import spectral_angle
from sigma.unmixing.boundary import boundary_neighbours, pure_spectra
from sigma.unmixing.spectra import core_pixels


@pytest.fixture(scope="module")
def grains():
    """Grains and six inclusions with blended boundaries, 60 counts per pixel."""
    return make_grain_phantom((96, 96), n_phases=4, counts_per_pixel=60, n_channels=512, energy_scale=0.04,
                              seed=1, inclusions=6)


def _angle(ph, k, v):
    return float(spectral_angle(ph.phase_spectra[k], v))


def test_noise_free_mixed_rims_are_removed(grains):
    """On the expected counts each phase's own spectrum comes back as well as from its core
    pixels (which hold no noise here) although the inclusion's mean over all its pixels is
    3.2 deg off: its rims are mixtures with the host."""
    ph = grains
    expected = (ph.abundances * (ph.counts_per_pixel * ph.intensity)[..., None]) @ ph.phase_spectra
    inc = len(ph.phase_names) - 1
    lab = ph.labels
    res = pure_spectra(expected, lab)
    assert _angle(ph, inc, expected[lab == inc].sum(0)) > 2.5
    core = core_pixels(lab)
    for k in range(len(ph.phase_names)):
        pure = _angle(ph, k, res.spectra[k])
        assert pure < 0.4 * _angle(ph, k, expected[lab == k].sum(0))  # 0.16-0.67 vs 1.4-3.2 deg
        assert pure < _angle(ph, k, expected[(lab == k) & core].sum(0)) + 0.2
    # the share removed is the neighbours' share of the rims, as the abundances give it
    rim = (lab == inc) & ~core
    true_share = float(((1 - ph.abundances[..., inc]) * expected.sum(-1))[rim].sum() / expected[lab == inc].sum())
    assert res.neighbour_share[inc] == pytest.approx(true_share, rel=0.1)


def test_counts_beat_the_mean_and_the_core(grains):
    """With Poisson counts the inclusion's pure spectrum is closer to its phase than both the
    mean over its pixels (host in its rims) and the mean over its core (fewer counts), and the
    large grains keep their spectra."""
    ph = grains
    inc = len(ph.phase_names) - 1
    lab, x = ph.labels, ph.spectra
    res = pure_spectra(x, lab)
    m = lab == inc
    pure = _angle(ph, inc, res.spectra[inc])
    assert pure < _angle(ph, inc, x[m].sum(0)) - 2.0  # 1.2 vs 4.2 deg
    assert pure < _angle(ph, inc, x[m & core_pixels(lab)].sum(0))  # 1.2 vs 1.4 deg
    for k in range(inc):
        assert _angle(ph, k, res.spectra[k]) < _angle(ph, k, x[lab == k].sum(0)) + 0.2


def test_nothing_is_removed_without_mixing(monkeypatch):
    """Pixels that each hold one phase only (sharp boundaries, Poisson counts): the fitted
    shares are noise around 0, not a bias (noise clipped at 0 per pixel would remove ~5 %),
    and no cluster's total stands out of that noise."""
    ph = make_grain_phantom((96, 96), n_phases=4, counts_per_pixel=20, n_channels=512, energy_scale=0.04,
                            seed=2, inclusions=6)
    rng = np.random.default_rng(0)
    lam = 20.0 * ph.phase_spectra[ph.labels]
    x = rng.poisson(lam).astype(np.uint16)
    res = pure_spectra(x, ph.labels)
    assert (res.neighbour_share == 0).all(), res.neighbour_share
    # the same fit without the significance test: totals of noise, under 1 %
    import sigma.unmixing.boundary as boundary

    monkeypatch.setattr(boundary, "MIN_SIGNIFICANCE", 0.0)
    free = pure_spectra(x, ph.labels)
    assert (free.neighbour_share < 0.01).all(), free.neighbour_share
    rim = free.pixel_share != 0
    assert abs(float(free.pixel_share[rim].mean())) < 0.02


def test_one_phase_split_in_two_trades_nothing():
    """Two clusters of the same phase: their spectra differ by noise only, so no share of one
    is significant in the other and nothing is removed (without the significance gate the
    totals, kept >= 0, took 0.4 and 0.8 % from two of them on this map)."""
    x = np.random.default_rng(0).poisson(3.0, (64, 64, 256)).astype(np.float32)
    lab = np.zeros((64, 64), int)
    lab[:, 32:] = 1
    lab[20:30, 10:20] = 2
    res = pure_spectra(x, lab)
    assert (res.neighbour_share == 0).all()
    np.testing.assert_allclose(res.spectra, [x[lab == k].mean(0) for k in range(3)], rtol=1e-6)


def test_lazy_cube_and_given_sums_match(grains):
    import dask.array as da

    from sigma.unmixing.spectra import CORE_MIN_PIXELS, cluster_spectra

    ph = grains
    lab = ph.labels
    ref = pure_spectra(ph.spectra, lab)
    lazy = pure_spectra(da.from_array(ph.spectra, chunks=(17, 96, 512)), lab)
    np.testing.assert_allclose(lazy.spectra, ref.spectra, rtol=1e-9)
    sums = cluster_spectra(ph.spectra, lab)
    core_lab = np.where(core_pixels(lab), lab, -1)
    n_core = np.bincount(core_lab[core_lab >= 0], minlength=len(sums))
    assert (n_core >= CORE_MIN_PIXELS).all()
    core = cluster_spectra(ph.spectra, core_lab, np.arange(len(sums))) / n_core[:, None]
    given = pure_spectra(ph.spectra, lab, sums=sums, core=core)
    np.testing.assert_allclose(given.spectra, ref.spectra, rtol=1e-9)
    np.testing.assert_array_equal(given.removed.sum(1) / sums.sum(1), given.neighbour_share)


def test_one_cluster_and_all_rim_keep_their_mean():
    x = np.random.default_rng(1).poisson(5.0, (8, 8, 16)).astype(float)
    one = pure_spectra(x, np.zeros((8, 8), int))
    np.testing.assert_allclose(one.spectra[0], x.reshape(64, 16).mean(0))
    # a 2x2 inclusion has no core pixel: nothing tells its own spectrum from a mixture
    lab = np.zeros((8, 8), int)
    lab[3:5, 3:5] = 1
    res = pure_spectra(x, lab)
    np.testing.assert_allclose(res.spectra[1], x[lab == 1].mean(0), rtol=1e-9)
    assert res.neighbour_share[1] == pytest.approx(0, abs=1e-9)


def test_boundary_neighbours_votes_inside_the_map():
    lab = np.array([[0, 0, 1], [0, 0, 1], [2, 2, 1], [-1, -1, -1]])
    assert boundary_neighbours(lab).tolist() == [[-1, 1, 0], [2, 1, 0], [0, 0, 0], [-1, -1, -1]]


def test_bad_input_is_named():
    x = np.zeros((4, 4, 8))
    with pytest.raises(SigmaValueError, match="labels"):
        pure_spectra(x, np.zeros((3, 4), int))
    with pytest.raises(SigmaValueError, match="iterations"):
        pure_spectra(x, np.zeros((4, 4), int), iterations=0)
