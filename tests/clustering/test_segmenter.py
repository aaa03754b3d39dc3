"""PixelSegmenter construction: methods, shapes, probabilities, colours, errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import adjusted_rand_score

from sigma.clustering import (
    NOISE_COLOR,
    PixelSegmenter,
    bic_sweep,
    cluster_palette,
    fit_clusters,
    predict_clusters,
)


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("GaussianMixture", {"n_components": 3, "random_state": 0}),
        ("BayesianGaussianMixture", {"n_components": 3, "random_state": 0}),
        ("Kmeans", {"n_clusters": 3}),
        ("Kmeans", {"n_components": 3}),  # tutorial spelling
        ("Birch", {"n_clusters": 3}),
        ("HDBSCAN", {"min_cluster_size": 10, "min_samples": 5}),
    ],
)
def test_labels_are_hw_ints_and_find_the_phases(toy, toy_latent, method, args):
    ps = PixelSegmenter(toy_latent, toy, method, args)
    assert ps.labels.shape == (30, 40)
    assert ps.labels.dtype.kind == "i"
    assert ps.labels.min() >= -1
    np.testing.assert_array_equal(ps.cluster_ids, np.unique(ps.labels[ps.labels >= 0]))
    pure = toy.phase_labels >= 0
    # the three pure phases are separated by every method
    assert adjusted_rand_score(toy.phase_labels[pure], ps.labels[pure]) > 0.95


def test_estimator_object_is_accepted(toy, toy_latent):
    ps = PixelSegmenter(toy_latent, toy, AgglomerativeClustering(n_clusters=4))
    assert ps.n_clusters == 4 and ps.prob_map is None and ps.membership is None
    assert "AgglomerativeClustering" in repr(ps)


def test_gmm_prob_map_is_hwk_and_sums_to_one(ps_gmm):
    pm = ps_gmm.prob_map
    assert pm.shape == (30, 40, 6) and pm.dtype == np.float32
    np.testing.assert_allclose(pm.sum(axis=2), 1.0, atol=1e-5)
    np.testing.assert_array_equal(pm.argmax(axis=2), ps_gmm.labels)
    assert ps_gmm.membership is None


def test_hdbscan_membership_is_separate_from_prob_map(ps_hdb):
    assert ps_hdb.prob_map is None
    m = ps_hdb.membership
    assert m.shape == (30, 40) and m.min() >= 0 and m.max() <= 1
    assert np.all(m[ps_hdb.labels == -1] == 0)


def test_derived_quantities_match_hand_computation(ps_gmm, toy, toy_latent):
    lab = ps_gmm.labels.ravel()
    np.testing.assert_array_equal(ps_gmm.counts, np.bincount(lab)[ps_gmm.cluster_ids])
    for row, cid in enumerate(ps_gmm.cluster_ids):
        np.testing.assert_allclose(ps_gmm.mu[row], toy_latent[lab == cid].mean(axis=0), rtol=1e-5)
        feats = toy.normalised_elemental_data.reshape(-1, 5)[lab == cid].mean(axis=0)
        np.testing.assert_allclose(ps_gmm.feature_means[row], feats, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ps_gmm.phase_proportions().sum(), 1.0)
    np.testing.assert_allclose(ps_gmm.phase_proportions(), ps_gmm.counts / 1200)


def test_default_colours_come_from_the_one_palette(ps_gmm, ps_hdb):
    pal = cluster_palette(6)
    assert ps_gmm.colors == {**{i: pal[i] for i in range(6)}, -1: NOISE_COLOR}
    assert ps_gmm.color_list == pal
    assert set(ps_hdb.colors) == set(ps_hdb.cluster_ids.tolist()) | {-1}
    assert NOISE_COLOR not in cluster_palette(300)


def test_labels_are_read_only(ps_gmm):
    with pytest.raises(ValueError, match="read-only"):
        ps_gmm.labels[0, 0] = 3


def test_latent_length_mismatch_names_both_lengths(toy, toy_latent):
    with pytest.raises(ValueError, match=r"1200 = 30 x 40 points.*Got .1199 points"):
        PixelSegmenter(toy_latent[:-1], toy)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"method": "DBSCAN"}, "'method' parameter must be one of .*Got 'DBSCAN'"),
        ({"method": object()}, "'method' parameter must be .*fit_predict"),
        ({"method_args": {"bogus": 1}}, "'method_args' parameter must be keyword arguments"),
        ({"method_args": [1]}, "'method_args' parameter must be a dict"),
    ],
)
def test_bad_method_inputs(toy, toy_latent, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        PixelSegmenter(toy_latent, toy, **kwargs)


def test_dataset_without_features_is_refused(toy_latent):
    with pytest.raises(ValueError, match="normalised_elemental_data"):
        PixelSegmenter(toy_latent, object())


def test_hdbscan_sample_and_assign_matches_full_fit():
    rng = np.random.default_rng(1)
    centres = np.array([[0, 0], [6, 0], [0, 6], [6, 6]])
    pts = np.concatenate([rng.normal(c, 0.5, (1500, 2)) for c in centres])
    pts = np.r_[pts, [[40.0, 40.0]]]  # a far outlier
    args = {"min_cluster_size": 40, "min_samples": 10}
    full = fit_clusters(pts, "HDBSCAN", args, max_fit_samples=None)
    part = fit_clusters(pts, "HDBSCAN", args, max_fit_samples=2000, random_state=0)
    assert part.n_fit == 2000 and full.n_fit == len(pts)
    both = (full.labels >= 0) & (part.labels >= 0)
    assert both.mean() > 0.9
    assert adjusted_rand_score(full.labels[both], part.labels[both]) > 0.99
    assert part.labels[-1] == -1  # too far from every sampled point
    assert part.membership.shape == (len(pts),)


def _blobs_and_noise(n, seed=0):
    rng = np.random.default_rng(seed)
    parts = [rng.normal(c, s, (int(n * f), 2)) for c, s, f in
             (((0, 0), 0.5, 0.35), ((5, 0), 1.0, 0.3), ((0, 6), 0.3, 0.2))]  # fmt: skip
    return np.concatenate([*parts, rng.uniform(-4, 10, (int(n * 0.15), 2))])


def test_sampled_hdbscan_with_default_min_samples_agrees_with_the_full_fit():
    """Without min_samples, the 5 % sample was fitted with min_samples = the scaled
    min_cluster_size (3) and the rest assigned with a reach of 60 neighbours: 37 clusters
    instead of 3 (adjusted Rand 0.53). Fit and reach now use the same, unscaled min_samples."""
    pts = _blobs_and_noise(10_000)
    args = {"min_cluster_size": 60}
    full = fit_clusters(pts, "HDBSCAN", args, max_fit_samples=None)
    part = fit_clusters(pts, "HDBSCAN", args, max_fit_samples=500, random_state=0)
    assert part.labels.max() == full.labels.max() == 2
    assert adjusted_rand_score(full.labels, part.labels) > 0.9
    assert abs((part.labels < 0).mean() - (full.labels < 0).mean()) < 0.03
    assert part.model.min_samples == part.assigner.min_samples == 60


def test_predict_clusters_applies_a_fit_to_new_points():
    pts = _blobs_and_noise(3000, seed=1)
    fit = fit_clusters(pts, "HDBSCAN", {"min_cluster_size": 40, "min_samples": 10})
    again = predict_clusters(fit, pts)
    np.testing.assert_array_equal(again.labels, fit.labels)  # each point is its own neighbour
    np.testing.assert_allclose(again.membership, fit.membership)
    far = predict_clusters(fit, [[60.0, 60.0]])
    assert far.labels.tolist() == [-1] and far.membership.tolist() == [0.0]
    gmm = fit_clusters(pts[:2000], "GaussianMixture", {"n_components": 3, "random_state": 0})
    new = predict_clusters(gmm, pts[2000:])
    np.testing.assert_array_equal(new.labels, gmm.model.predict(pts[2000:]))
    assert new.proba.shape == (1000, 3) and new.membership is None
    with pytest.raises(ValueError, match=r"'latent' parameter must be finite points of shape \(M, 2\)"):
        predict_clusters(gmm, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="'fit' parameter must be a fit whose estimator has predict"):
        predict_clusters(fit_clusters(pts, AgglomerativeClustering(3)), pts)


def test_hdbscan_sampling_scales_size_parameters(caplog):
    rng = np.random.default_rng(2)
    pts = rng.normal(size=(3000, 2))
    with caplog.at_level("INFO", logger="sigma.clustering.methods"):
        fit_clusters(pts, "HDBSCAN", {"min_cluster_size": 30, "max_cluster_size": 3000},
                     max_fit_samples=1000)  # fmt: skip
    assert re.search(r"min_cluster_size 30 -> 10, max_cluster_size 3000 -> 1000", caplog.text)


def test_bic_sweep_equals_sklearn_bic_and_picks_the_right_k():
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(0)
    pts = np.r_[rng.normal(0, 0.3, (100, 2)), rng.normal(4, 0.3, (100, 2)),
                rng.normal((0, 4), 0.3, (100, 2))]  # fmt: skip
    ns, bic = bic_sweep(pts, 4, model_args={"random_state": 0}, progress=False)
    assert ns.tolist() == [1, 2, 3, 4] and int(ns[np.argmin(bic)]) == 3
    ref = GaussianMixture(3, random_state=0).fit(pts).bic(pts)
    assert bic[2] == pytest.approx(ref, rel=1e-9)
    _, bbic = bic_sweep(pts, [3], model="BayesianGaussianMixture",
                        model_args={"random_state": 0}, progress=False)  # fmt: skip
    assert bbic.shape == (1,) and np.isfinite(bbic).all()
    with pytest.raises(ValueError, match="'n_range' parameter .* Got 0"):
        bic_sweep(pts, 0)


def test_tutorial_import_path():
    from sigma.src.segmentation import PixelSegmenter as P

    assert P is PixelSegmenter


def test_tutorial_hdbscan_args_work(toy, noisy_latent):
    """The tutorial's HDBSCAN call (with cluster_selection_epsilon, which trips
    scikit-learn issue #33219 on NumPy >= 2.4) runs and merges touching clusters."""
    args = dict(min_cluster_size=10, min_samples=10, max_cluster_size=int(1200 / 10),
                cluster_selection_epsilon=1e-1)  # fmt: skip
    ps = PixelSegmenter(noisy_latent, toy, "HDBSCAN", args)
    assert ps.labels.shape == (30, 40) and ps.noise_count > 0 and ps.n_clusters >= 3
    pure = toy.phase_labels >= 0
    keep = pure & (ps.labels >= 0)
    # merging never mixes the three well-separated phases
    for cid in ps.cluster_ids:
        assert len(np.unique(toy.phase_labels[keep & (ps.labels == cid)])) <= 1


def test_feature_means_use_the_fitted_features_after_the_dataset_is_rebinned():
    from sigma.synthetic.examples import tiny_dataset

    ds = tiny_dataset((16, 16))
    ds.rebin_signal(size=(2, 2))
    x = ds.normalisation(["zscore"])
    ps = PixelSegmenter(x.reshape(-1, 3)[:, :2], ds, "Kmeans", {"n_clusters": 3, "random_state": 0})
    expected = np.stack([x[ps.labels == c].mean(axis=0) for c in ps.cluster_ids])
    ds.rebin_signal(size=(4, 4))
    ds.normalisation(["zscore"])  # the dataset's features are now (4, 4, 3)
    with pytest.warns(UserWarning, match=r"no longer those this segmenter was fitted on \(shape \(8, 8, 3\)"):
        means = ps.feature_means
    np.testing.assert_allclose(means, expected, rtol=1e-5)
    assert ps.features.shape == (8, 8, 3) and not ps.features.flags.writeable
    assert ps.feature_list == ["Fe_Ka", "Si_Ka", "Ca_Ka"]


def test_unchanged_dataset_gives_no_warning(ps_gmm, toy):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ps_gmm.feature_means.shape == (ps_gmm.n_clusters, 5)
    assert ps_gmm.features is not toy.normalised_elemental_data  # a snapshot, not the live array


def test_from_labels_builds_a_segmenter_without_touching_the_dataset(toy, toy_latent, tmp_path):
    import warnings

    before = toy.normalised_elemental_data.copy()
    own = np.where(toy.phase_labels >= 0, toy.phase_labels, 1)
    proba = np.eye(3, dtype=np.float32)[own.ravel()]
    feats = toy.normalised_elemental_data * 2  # e.g. z-scored with statistics of several maps
    ps = PixelSegmenter.from_labels(toy_latent, toy, own, proba=proba, features=feats,
                                    method="GaussianMixture (shared)")  # fmt: skip
    np.testing.assert_array_equal(toy.normalised_elemental_data, before)
    assert ps.cluster_ids.tolist() == [0, 1, 2] and ps.prob_map.shape == (30, 40, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # features given on purpose: no "dataset changed" warning
        means = ps.feature_means
    np.testing.assert_allclose(means, [feats[own == c].mean(axis=0) for c in range(3)], rtol=1e-5)
    assert ps.get_cluster_spectra().shape == (3, 200)  # spectra come from the dataset
    ps.merge_clusters([1, 2])
    back = PixelSegmenter.from_saved_state(ps.save_state(tmp_path / "s.npz"))
    np.testing.assert_array_equal(back.labels, ps.labels)
    assert back.method == "GaussianMixture (shared)"


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"labels": np.full((30, 40), -3)}, r"'labels' parameter .*Got 'holds -3"),
        ({"labels": np.zeros(7, int)}, r"'labels' parameter .*has shape \(7,\)"),
        ({"proba": np.full((1200, 2), 0.5)}, r"'proba' parameter .*2 columns for cluster id 2"),
        ({"proba": np.full((1200, 3), np.nan)}, r"'proba' parameter .*NaN"),
        ({"membership": np.ones(5)}, r"'membership' parameter .*shape \(5,\)"),
        ({"method": AgglomerativeClustering()}, r"'method' parameter must be a name"),
    ],
)
def test_from_labels_checks_its_arrays(toy, toy_latent, kwargs, pattern):
    args = {"labels": np.where(toy.phase_labels >= 0, toy.phase_labels, 1), **kwargs}
    labels = args.pop("labels")
    with pytest.raises(ValueError, match=pattern):
        PixelSegmenter.from_labels(toy_latent, toy, labels, **args)
