"""Cluster colours stay a clear perceptual (CIEDE2000) distance apart."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sigma.clustering.palette import (
    MIN_DELTA_E,
    NOISE_COLOR,
    cluster_palette,
    delta_e,
    next_free_color,
)


def test_delta_e_matches_the_ciede2000_reference_pairs():
    # Sharma, Wu & Dalal (2005), table 1: pairs given in CIELAB; checked through the kernel
    from sigma.clustering.palette import _de2000

    pairs = [
        ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
        ((50.0, -1.3802, -84.2814), (50.0, 0.0, -82.7485), 1.0000),
        ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
        ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ]
    for a, b, want in pairs:
        assert _de2000(np.array(a), np.array(b)) == pytest.approx(want, abs=1e-4)
    assert delta_e("#000000", "#000000") == 0.0


def test_the_palette_keeps_clusters_apart_up_to_fifty():
    pal = cluster_palette(50) + [NOISE_COLOR]
    worst = min(delta_e(a, b) for a, b in itertools.combinations(pal, 2))
    assert worst > 12.0, worst  # the golden-angle HSV palette had pairs 0.9 apart
    assert cluster_palette(64)[:50] == cluster_palette(50)  # prefix-stable


def test_a_new_cluster_colour_is_far_from_every_colour_in_use():
    # the case of the issue: #990f6d was created next to #990f5b
    assert delta_e("#990f6d", "#990f5b") < 5
    used = [*cluster_palette(18), NOISE_COLOR, "#990f5b"]
    c = next_free_color(used)
    assert min(delta_e(c, u) for u in used) >= MIN_DELTA_E
    # with 50 clusters no palette colour is 20 away: the farthest one is taken instead
    used = [*cluster_palette(50), NOISE_COLOR]
    c = next_free_color(used)
    assert c not in used
    assert min(delta_e(c, u) for u in used) >= 12.0
    # few clusters: the palette order is kept
    assert next_free_color(["#1f77b4", NOISE_COLOR]) == "#ff7f0e"


def test_created_clusters_get_distinct_colours(ps_gmm):
    for k in range(5):
        ps_gmm.create_cluster(np.arange(k * 20, k * 20 + 20))
    cols = [ps_gmm.colors[i] for i in ps_gmm.cluster_ids] + [NOISE_COLOR]
    assert min(delta_e(a, b) for a, b in itertools.combinations(cols, 2)) >= 12.0
