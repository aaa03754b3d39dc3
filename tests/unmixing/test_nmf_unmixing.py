"""Cluster spectra, NMF (plain and seeded), per-pixel abundances, on generated phases."""

from __future__ import annotations

import numpy as np
import pytest

from sigma.clustering import PixelSegmenter
from sigma.unmixing import cluster_spectra, nnls_abundances, spectral_angle, unmix_spectra


@pytest.fixture(scope="module")
def ps(toy):
    # cluster on the true layout so the test is about unmixing, not clustering:
    # three pure phases + three groups of mixed pixels
    lab = toy.phase_labels.copy()
    mixed = lab == -1
    lab[mixed] = 3 + (np.nonzero(mixed)[1] * 3 // 40)
    latent = np.eye(6)[lab.ravel()] + 0.01 * np.random.default_rng(0).normal(size=(1200, 6))
    seg = PixelSegmenter(latent, toy, "Kmeans", {"n_clusters": 6, "random_state": 0})
    return seg


def _best_angles(components, truth):
    ang = spectral_angle(components, truth)
    from scipy.optimize import linear_sum_assignment

    r, c = linear_sum_assignment(ang)
    return ang[r, c], c


def test_cluster_spectra_equal_hand_computation(ps, toy):
    data = np.asarray(toy.analysis_spectra.data, dtype=np.float64)
    lab = ps.labels
    s = ps.get_cluster_spectra("sum")
    m = ps.get_cluster_spectra("mean")
    assert s.shape == (ps.n_clusters, 200)
    for row, cid in enumerate(ps.cluster_ids):
        np.testing.assert_allclose(s[row], data[lab == cid].sum(axis=0), rtol=1e-12)
        np.testing.assert_allclose(m[row], data[lab == cid].mean(axis=0), rtol=1e-12)
    with pytest.raises(ValueError, match="'kind' parameter must be 'sum', 'mean', 'core', 'pure' or 'net'. Got 'median'"):
        ps.get_cluster_spectra("median")


def test_core_spectra_are_the_means_of_the_core_pixels(ps, toy):
    from sigma.unmixing.spectra import CORE_MIN_PIXELS, core_pixels

    data = np.asarray(toy.analysis_spectra.data, dtype=np.float64)
    lab = ps.labels
    core = core_pixels(lab)
    c = ps.get_cluster_spectra("core")
    own = 0
    for row, cid in enumerate(ps.cluster_ids):
        m = (lab == cid) & core
        want = data[m].mean(axis=0) if m.sum() >= CORE_MIN_PIXELS else data[lab == cid].mean(axis=0)
        own += m.sum() >= CORE_MIN_PIXELS
        np.testing.assert_allclose(c[row], want, rtol=1e-12)
    assert own >= 1  # the toy's clusters have cores: the test compares core means, not the fallback


def test_core_spectrum_of_a_small_inclusion_is_its_own_not_the_mix_with_its_host():
    from sigma.clustering import PixelSegmenter
    from sigma.synthetic.metrics import spectral_angle

    # a 5x5 inclusion of spectrum b in a host of spectrum a; its rim pixels hold half of each
    a, b = np.r_[np.ones(10), np.zeros(10)], np.r_[np.zeros(10), np.ones(10)]
    frac = np.zeros((16, 16))
    frac[5:10, 5:10] = 1.0
    rim = np.zeros_like(frac, bool)
    rim[4:11, 4:11] = True
    rim[5:10, 5:10] = False
    frac[rim] = 0.5
    cube = (100 * ((1 - frac)[..., None] * a + frac[..., None] * b)).astype(np.float32)
    lab = np.where(frac >= 0.5, 1, 0)
    from types import SimpleNamespace

    ds = SimpleNamespace(analysis_spectra=SimpleNamespace(data=cube), energy_axis=np.arange(20.0))
    ps = PixelSegmenter.from_labels(np.zeros((256, 2)), ds, lab, features=np.zeros((16, 16, 1), np.float32),
                                    feature_list=["x"])
    mean, core = ps.get_cluster_spectra("mean"), ps.get_cluster_spectra("core")
    assert spectral_angle(mean[1], b) > 15  # 24 of its 49 pixels are half host (18 degrees)
    assert spectral_angle(core[1], b) < 1e-6 and spectral_angle(core[0], a) < 1e-6
    np.testing.assert_allclose(ps.get_cluster_spectra("sum").sum(0), cube.reshape(-1, 20).sum(0), rtol=1e-6)


def test_lazy_cube_gives_the_same_spectra_and_noise_is_ignored(toy, toy_lazy):
    lab = toy.phase_labels
    eager = cluster_spectra(toy.analysis_spectra.data, lab)
    lazy = cluster_spectra(toy_lazy.analysis_spectra.data, lab, progress=False)
    np.testing.assert_allclose(lazy, eager)
    assert eager.shape == (3, 200)
    assert np.isclose(eager.sum(), toy.analysis_spectra.data[lab >= 0].sum(), rtol=1e-10)


def test_nmf_recovers_the_phase_spectra(ps, toy):
    w, h = ps.get_unmixed_spectra_profile("All", 3, False, "NMF", {"init": "nndsvd"})
    assert w.shape == (6, 3) and h.shape == (3, 200)
    assert (w >= 0).all() and (h >= 0).all()
    angles, _ = _best_angles(h, toy.phase_spectra)
    assert angles.max() < 5.0
    assert ps.weights_index == [f"cluster_{i}" for i in range(6)]
    assert ps.weights_columns == ["w_0", "w_1", "w_2"]
    np.testing.assert_array_equal(ps.nmf_cluster_ids, np.arange(6))
    assert ps.nmf_reconstruction_error > 0


def test_nmf_on_a_subset_normalised(ps):
    w, h = ps.get_unmixed_spectra_profile([0, 2], "All", normalised=True)
    assert w.shape == (2, 2) and ps.weights_index == ["cluster_0", "cluster_2"]
    np.testing.assert_allclose((w @ h).max(axis=1), 1.0, atol=0.05)


def test_seeded_nmf_starts_from_the_seed_clusters(ps, toy):
    # two clusters that are pure phases, and which phases they are
    pure = [int(c) for c in ps.cluster_ids if (toy.phase_labels[ps.labels == c] >= 0).all()]
    seeds = pure[:2]
    phase = [int(toy.phase_labels[ps.labels == c][0]) for c in seeds]
    w, h = ps.get_unmixed_spectra_profile_init_guess(
        "All", 3, False, "NMF", {"init": "nndsvd"}, seed_clusters=seeds
    )
    assert w.shape == (6, 3)
    # the first two components stay the seed phases
    assert spectral_angle(h[0], toy.phase_spectra[phase[0]]).item() < 5
    assert spectral_angle(h[1], toy.phase_spectra[phase[1]]).item() < 5
    angles, _ = _best_angles(h, toy.phase_spectra)
    assert angles.max() < 5.0


def test_seeded_without_seeds_and_with_more_seeds_than_components(ps):
    w, h = ps.get_unmixed_spectra_profile_init_guess(
        n_components=2, method_args={"init": "nndsvda"}
    )
    assert h.shape == (2, 200)
    w, h = ps.get_unmixed_spectra_profile_init_guess(n_components=2, seed_clusters=[0, 1, 2])
    assert h.shape == (2, 200)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (
            {"n_components": 7},
            r"'n_components' parameter must be 'All' or an int in \[1, 6\].*Got 7",
        ),
        ({"n_components": 0}, r"'n_components' .*Got 0"),
        ({"clusters_to_be_calculated": [0, 42]}, r"'clusters_to_be_calculated' .*Got 42"),
        ({"clusters_to_be_calculated": []}, r"'clusters_to_be_calculated' .*non-empty.*Got \[\]"),
        ({"clusters_to_be_calculated": "some"}, r"'clusters_to_be_calculated' .*Got 'some'"),
        ({"method": "ICA"}, r"'method' parameter must be 'NMF'.*Got 'ICA'"),
        ({"method_args": {"bogus": 1}}, r"'method_args' .*keyword arguments of NMF"),
    ],
)
def test_unmixing_errors_name_the_value(ps, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        ps.get_unmixed_spectra_profile(**kwargs)


def test_seed_errors(ps):
    with pytest.raises(ValueError, match=r"'seed_clusters' .*Got 99"):
        ps.get_unmixed_spectra_profile_init_guess(n_components=3, seed_clusters=[1, 99])
    with pytest.raises(ValueError, match=r"'method' parameter must be 'NMF'"):
        ps.get_unmixed_spectra_profile_init_guess(method="PCA", seed_clusters=[1])


def test_nnls_is_exact_on_noise_free_mixtures(toy):
    truth = toy.abundances * 1000.0
    cube = truth @ toy.phase_spectra
    a = nnls_abundances(cube, toy.phase_spectra)
    assert a.shape == (30, 40, 3)
    np.testing.assert_allclose(a, truth, atol=1e-6 * truth.max())


def test_nnls_clips_to_non_negative_and_matches_scipy():
    from scipy.optimize import nnls

    rng = np.random.default_rng(5)
    comps = rng.random((4, 30))
    comps[1] = 0.7 * comps[0] + 0.3 * rng.random(30)  # correlated end-members
    x = rng.normal(0, 1, (200, 30)) + rng.random((200, 4)) @ comps
    a = nnls_abundances(x, comps)
    ref = np.array([nnls(comps.T, xi)[0] for xi in x])
    assert (a >= 0).all()
    np.testing.assert_allclose(a, ref, atol=1e-6)


def test_abundance_maps_recover_per_pixel_mixtures(ps, toy):
    a = ps.abundance_maps(toy.phase_spectra, progress=False)
    frac = a / a.sum(axis=2, keepdims=True)
    err = np.abs(frac - toy.abundances)
    assert err.mean() < 0.02 and err.max() < 0.15
    # not constant per cluster: the mixed band varies along each row
    assert np.ptp(frac[25, :, 1]) > 0.5


def test_abundance_maps_from_nmf_components_and_errors(ps, toy_lazy):
    fresh = ps.copy()
    fresh.nmf_components = None
    with pytest.raises(ValueError, match="'components' parameter must be end-member spectra"):
        fresh.abundance_maps()
    ps.get_unmixed_spectra_profile(n_components=3, method_args={"init": "nndsvd"})
    a = ps.abundance_maps(progress=False)
    assert a.shape == (30, 40, 3) and (a >= 0).all()
    with pytest.raises(
        ValueError, match=r"'components' parameter must be an \(n_components, 200\)"
    ):
        ps.abundance_maps(np.ones((2, 10)))


def test_unmix_spectra_kernel_validates_input():
    with pytest.raises(ValueError, match="'spectra' parameter must be finite, non-negative"):
        unmix_spectra(np.array([[1.0, -1.0], [0, 1]]))


def test_phase_proportions(ps):
    p = ps.phase_proportions()
    assert p.shape == (6,) and p.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(p, ps.counts / 1200)


def test_nmf_at_its_iteration_limit_logs_instead_of_warning(caplog, recwarn):
    import logging

    rng = np.random.default_rng(0)
    x = rng.random((30, 12))
    with caplog.at_level(logging.INFO, logger="sigma.unmixing.nmf"):
        w, h, model = unmix_spectra(x, 3, method_args={"max_iter": 2, "tol": 1e-12, "random_state": 0})
    assert model.n_iter_ == 2 and w.shape == (30, 3)
    assert not [r for r in recwarn if "iteration" in str(r.message).lower()]
    assert any("iteration limit (2 of max_iter=2)" in r.getMessage() for r in caplog.records)
