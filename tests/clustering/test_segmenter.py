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
