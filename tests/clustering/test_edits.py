"""Edits keep every derived quantity consistent with the labels, and can be undone."""

from __future__ import annotations

import re

import numpy as np
import pytest
from matplotlib.path import Path as MplPath

from sigma.clustering import NOISE_COLOR, PixelSegmenter

HEX = re.compile(r"^#[0-9a-f]{6}$")


def check_consistent(ps, toy, latent, shadow):
    """Everything derived agrees with the labels and with an independent shadow model."""
    lab = ps.labels
    assert lab.shape == (30, 40) and lab.dtype.kind == "i"
    np.testing.assert_array_equal(lab, shadow["labels"])
    ids = np.unique(lab[lab >= 0])
    np.testing.assert_array_equal(ps.cluster_ids, ids)
    flat = lab.ravel()
    np.testing.assert_array_equal(ps.counts, np.bincount(flat[flat >= 0])[ids] if ids.size else [])
    assert ps.noise_count == int((flat == -1).sum())
    mu = np.array([latent[flat == i].mean(axis=0) for i in ids])
    np.testing.assert_allclose(ps.mu, mu.reshape(ps.mu.shape), rtol=1e-5, atol=1e-6)
    assert set(ps.colors) == set(ids.tolist()) | {-1}
    assert all(HEX.match(c) for c in ps.colors.values())
    assert ps.colors == shadow["colors"]
    pm = ps.prob_map
    if shadow["proba"] is None or not shadow["valid"]:
        assert pm is None
    else:
        expect = np.zeros_like(shadow["proba"])
        for comp, cid in enumerate(shadow["map"]):
            expect[:, cid] += shadow["proba"][:, comp]
        np.testing.assert_allclose(pm.reshape(-1, pm.shape[2]), expect, atol=1e-6)
        assert pm.shape[2] == shadow["proba"].shape[1]
    spectra = np.asarray(toy.analysis_spectra.data, dtype=np.float64).reshape(1200, -1)
    got = ps.get_cluster_spectra("sum")
    ref = np.array([spectra[flat == i].sum(axis=0) for i in ids]).reshape(got.shape)
    np.testing.assert_allclose(got, ref, rtol=1e-10)


def _snapshot(ps, proba):
    return {
        "labels": ps.labels.copy(),
        "colors": dict(ps.colors),
        "valid": True,
        "proba": proba,
        "map": np.arange(proba.shape[1]) if proba is not None else None,
    }


def _copy(sh):
    return {**sh, "labels": sh["labels"].copy(), "colors": dict(sh["colors"]),
            "map": None if sh["map"] is None else sh["map"].copy()}  # fmt: skip


@pytest.mark.parametrize("method", ["GaussianMixture", "HDBSCAN"])
def test_random_edit_sequences_keep_state_consistent(toy, toy_latent, noisy_latent, method):
    if method == "HDBSCAN":
        toy_latent = noisy_latent
    args = ({"n_components": 8, "random_state": 0} if method == "GaussianMixture"
            else {"min_cluster_size": 8, "min_samples": 8})  # fmt: skip
    ps = PixelSegmenter(toy_latent, toy, method, args)
    proba = None if ps.prob_map is None else ps.prob_map.reshape(1200, -1).copy()
    if method == "HDBSCAN":
        assert ps.noise_count > 0  # the test needs noise to exercise include_noise
    shadow = _snapshot(ps, proba)
    original = _copy(shadow)
    history = []
    rng = np.random.default_rng(12345)
    check_consistent(ps, toy, toy_latent, shadow)
    for _step in range(30):
        op = rng.choice(["merge", "create", "region", "recolour", "undo", "reset"],
                        p=[0.25, 0.2, 0.2, 0.15, 0.15, 0.05])  # fmt: skip
        ids = ps.cluster_ids
        before = _copy(shadow)
        if op == "merge" and len(ids) >= 2:
            pick = rng.choice(ids, size=min(len(ids), rng.integers(2, 4)), replace=False).tolist()
            ps.merge_clusters(pick + [-1])  # -1 is ignored
            target = min(pick)
            m = np.isin(shadow["labels"], pick)
            shadow["labels"][m] = target
            for i in pick:
                if i != target:
                    shadow["colors"].pop(int(i))
            if shadow["map"] is not None:
                shadow["map"][np.isin(shadow["map"], pick)] = target
        elif op in ("create", "region"):
            inc = bool(rng.integers(2))
            if op == "create":
                r0, c0 = rng.integers(0, 25), rng.integers(0, 35)
                mask = np.zeros((30, 40), bool)
                mask[r0 : r0 + rng.integers(2, 8), c0 : c0 + rng.integers(2, 8)] = True
                sel = mask.ravel()
            else:
                lo = toy_latent.min(axis=0) + rng.random(2) * np.ptp(toy_latent, axis=0) * 0.8
                box = (*lo, *(lo + np.ptp(toy_latent, axis=0) * 0.3))
                sel = MplPath([(box[0], box[1]), (box[2], box[1]), (box[2], box[3]),
                               (box[0], box[3])]).contains_points(toy_latent)  # fmt: skip
            if not inc:
                sel = sel & (shadow["labels"].ravel() != -1)
            if not sel.any():
                continue
            new_id = int(ids.max()) + 1 if ids.size else 0
            if op == "create":
                ps.create_cluster(mask, include_noise=inc)
            else:
                ps.create_cluster_from_latent_region(box, include_noise=inc)
            old_colors = {v for k, v in shadow["colors"].items() if k != -1}
            shadow["labels"].ravel()[sel] = new_id
            alive = set(np.unique(shadow["labels"][shadow["labels"] >= 0]).tolist())
            shadow["colors"] = {k: v for k, v in shadow["colors"].items() if k in alive or k == -1}
            assert ps.colors[new_id] not in old_colors | {NOISE_COLOR}
            shadow["colors"][new_id] = ps.colors[new_id]
            shadow["valid"] = False
        elif op == "recolour" and len(ids):
            pick = rng.choice(ids, size=min(2, len(ids)), replace=False).tolist()
            color = f"#{int(rng.integers(0, 2**24)):06x}"
            ps.recolour(pick, color)
            for i in pick:
                shadow["colors"][int(i)] = color
        elif op == "undo":
            ps.undo()
            if history:
                shadow = history.pop()
            check_consistent(ps, toy, toy_latent, shadow)
            continue
        elif op == "reset":
            ps.reset()
            shadow = _copy(original)
        else:
            continue
        history.append(before)
        check_consistent(ps, toy, toy_latent, shadow)
    # undo everything returns to the fitted clustering
    while ps.can_undo:
        ps.undo()
    check_consistent(ps, toy, toy_latent, original)
    np.testing.assert_array_equal(ps.labels, ps.labels_original)


def test_merge_goes_into_smallest_id_keeps_colour_and_sums_prob(ps_gmm):
    pm0 = ps_gmm.prob_map
    c2 = ps_gmm.colors[2]
    ps_gmm.merge_clusters([5, 2, 4])
    assert ps_gmm.cluster_ids.tolist() == [0, 1, 2, 3]
    assert ps_gmm.colors[2] == c2 and 4 not in ps_gmm.colors and 5 not in ps_gmm.colors
    pm = ps_gmm.prob_map
    np.testing.assert_allclose(pm[..., 2], pm0[..., 2] + pm0[..., 4] + pm0[..., 5], atol=1e-6)
    assert np.all(pm[..., [4, 5]] == 0)
    assert ps_gmm.edit_history == [("merge_clusters", {"ids": [2, 4, 5], "target": 2})]


def test_noise_is_never_merged(ps_hdb):
    n_noise = ps_hdb.noise_count
    assert n_noise > 0
    ids = ps_hdb.cluster_ids.tolist()
    ps_hdb.merge_clusters([-1, *ids[:2]])
    assert ps_hdb.noise_count == n_noise


def test_create_with_and_without_noise():
    rng = np.random.default_rng(0)

    class DS:
        normalised_elemental_data = np.zeros((10, 10, 2), np.float32)

    latent = np.r_[rng.normal(0, 0.05, (45, 2)), rng.normal(5, 0.05, (45, 2)),
                   rng.uniform(-50, 50, (10, 2))]  # fmt: skip
    ps = PixelSegmenter(latent, DS(), "HDBSCAN", {"min_cluster_size": 10})
    noise = ps.labels == -1
    assert noise.any()
    everything = np.ones((10, 10), bool)
    ps.create_cluster(everything, include_noise=False)
    new = int(ps.cluster_ids.max())
    assert ps.cluster_ids.tolist() == [new] and np.array_equal(ps.labels == -1, noise)
    ps.undo()
    ps.create_cluster(np.flatnonzero(everything.ravel()), include_noise=True)
    assert ps.noise_count == 0 and ps.membership is None
    ps.undo()
    assert ps.membership is not None


def test_latent_region_selects_all_points_not_a_subsample(ps_gmm, toy_latent):
    poly = np.array([[-3.0, -2.0], [0.5, -2.5], [1.0, 0.5], [-1.0, 1.5], [-2.5, 0.0]])
    inside = MplPath(poly).contains_points(toy_latent)
    assert 50 < inside.sum() < 1150
    ps_gmm.create_cluster_from_latent_region(poly)
    new = int(ps_gmm.cluster_ids.max())
    np.testing.assert_array_equal(ps_gmm.labels.ravel() == new, inside)
    assert ps_gmm.prob_map is None
    assert ps_gmm.edit_history[-1][0] == "create_cluster_from_latent_region"


def test_geometry_matches_matplotlib():
    from sigma.clustering import points_in_polygon

    rng = np.random.default_rng(3)
    pts = rng.uniform(-2, 2, (5000, 2))
    star = [(np.cos(t) * r, np.sin(t) * r)
            for t, r in zip(np.linspace(0, 2 * np.pi, 11)[:-1], [1.8, 0.6] * 5, strict=True)]  # fmt: skip
    np.testing.assert_array_equal(points_in_polygon(pts, star),
                                  MplPath(star).contains_points(pts))  # fmt: skip


def test_recolour_reset_and_undo(ps_gmm):
    orig = dict(ps_gmm.colors)
    ps_gmm.recolour([0, 1], (1.0, 0.0, 0.0))
    assert ps_gmm.colors[0] == ps_gmm.colors[1] == "#ff0000"
    ps_gmm.merge_clusters([0, 3])
    ps_gmm.reset()
    assert ps_gmm.colors == orig and np.array_equal(ps_gmm.labels, ps_gmm.labels_original)
    ps_gmm.undo()  # undo the reset
    assert ps_gmm.colors[0] == "#ff0000" and 3 not in ps_gmm.cluster_ids
    ps_gmm.undo()
    ps_gmm.undo()
    assert ps_gmm.colors == orig and not ps_gmm.can_undo
    ps_gmm.undo()  # nothing left: a no-op


def test_spectra_cache_is_invalidated_by_label_edits(ps_gmm, toy):
    s0 = ps_gmm.get_cluster_spectra("sum").copy()
    ps_gmm.merge_clusters([0, 1])
    s1 = ps_gmm.get_cluster_spectra("sum")
    assert s1.shape == (5, s0.shape[1])
    np.testing.assert_allclose(s1[0], s0[0] + s0[1])
    ps_gmm.undo()
    np.testing.assert_allclose(ps_gmm.get_cluster_spectra("sum"), s0)


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (
            lambda ps: ps.merge_clusters([0, 99]),
            r"'ids' parameter must be existing cluster id.*Got 99",
        ),
        (lambda ps: ps.merge_clusters([2]), r"'ids' parameter must be at least two .*Got \[2\]"),
        (lambda ps: ps.merge_clusters("x"), r"'ids' parameter"),
        (lambda ps: ps.create_cluster(np.zeros((30, 40), bool)), "'pixels' .*at least one pixel"),
        (
            lambda ps: ps.create_cluster(np.zeros((3, 3), bool)),
            r"'pixels' .*Got 'bool mask of shape \(3, 3\)'",
        ),
        (lambda ps: ps.create_cluster([5, 1200]), r"'pixels' .*indices in \[0, 1200\)"),
        (lambda ps: ps.create_cluster([0.5]), "'pixels' .*boolean mask or integer"),
        (lambda ps: ps.create_cluster_from_latent_region([(0, 0), (1, 1)]), "'region' parameter"),
        (lambda ps: ps.create_cluster_from_latent_region((0, 0, 1, 1), dims=(0, 5)), "'dims'"),
        (lambda ps: ps.recolour([0], "red-ish"), r"'color' parameter .*Got 'red-ish'"),
        (lambda ps: ps.recolour([42], "#ffffff"), r"'ids' parameter .*Got 42"),
    ],
)
def test_bad_edit_inputs(ps_gmm, call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call(ps_gmm)
    assert not ps_gmm.can_undo  # a refused edit changes nothing


def test_copy_is_independent(ps_gmm):
    other = ps_gmm.copy()
    other.merge_clusters([0, 1])
    other.recolour([2], "#000000")
    assert 1 in ps_gmm.cluster_ids and ps_gmm.colors[2] != "#000000" and not ps_gmm.can_undo
