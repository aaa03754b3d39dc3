"""Editing features in ``view_dataset`` cannot silently damage an analysis."""

from __future__ import annotations

import numpy as np
import pytest

from sigma.gui import gui
from sigma.utils import normalisation as norm


@pytest.fixture
def sem():
    from sigma.datasets import SEMDataset
    from sigma.synthetic import make_phantom

    ds = SEMDataset(make_phantom((10, 12), n_channels=512, energy_scale=0.02, seed=3).to_signal())
    ds.normalisation([norm.neighbour_averaging, norm.zscore])
    return ds


def test_the_box_shows_the_real_list_and_a_stale_box_never_drops_features(sem):
    w = gui.view_dataset(sem)
    lines = list(sem.feature_list)
    sem.get_feature_maps_with_nav_img(normalisation=[norm.neighbour_averaging, norm.zscore])
    assert "Navigator" not in w.features.value  # drawn before the navigator was added
    # the user removes one line in the (stale) box: Navigator must survive
    w.features.value = ", ".join(lines[1:])
    w.buttons["Set"].click()
    assert sem.feature_list == [*lines[1:], "Navigator"]
    assert w.features.value == ", ".join(sem.feature_list)  # the box now shows the real list
    text = w.status.value
    assert text.startswith("⚠ Feature list set") and f"Removed: {lines[0]}." in text
    assert "had changed since this box was filled" in text
    # a fresh view shows Navigator at once
    assert "Navigator" in gui.view_dataset(sem).features.value


def test_set_says_what_was_added_and_removed(sem):
    w = gui.view_dataset(sem)
    old = list(sem.feature_list)
    assert "K_Ka" not in old
    w.features.value = ", ".join([*old[:-1], "K_Ka", "K_Ka"])
    w.buttons["Set"].click()
    assert sem.feature_list == [*old[:-1], "K_Ka"]
    assert f"Added: K_Ka. Removed: {old[-1]}." in w.status.value
    assert "Repeated K_Ka counted once" in w.status.value
    # a bad line changes nothing and is shown as an error
    w.features.value = "Fe_Ka, Qq_Ka"
    w.buttons["Set"].click()
    assert w.status.value.startswith("✖ Error in Set feature list") and "Qq_Ka" in w.status.value
    assert sem.feature_list == [*old[:-1], "K_Ka"]


def test_the_window_means_plus_or_minus_and_a_hit_is_added_in_one_click(sem):
    from sigma.xray import line_energy

    w = gui.view_dataset(sem)
    w.width.value = 0.1
    w.energy.value = 2.31
    energies = [e for _, e, _ in w.line_hits]
    assert max(abs(e - 2.31) for e in energies) <= 0.1 + 1e-9
    assert max(abs(e - 2.31) for e in energies) > 0.05  # the old code searched ±0.05 only
    assert "within ±0.1 keV of 2.31 keV" in w.status.value
    add = {b.description: b for b in w.add_buttons.children}
    assert "+ S_Ka" in add and all("sigma-add-line" in b._dom_classes for b in add.values())
    weights = {n: wt for n, _, wt in w.line_hits}
    assert all(weights[d.removeprefix("+ ")] >= 0.1 for d in add)  # weak lines get no button
    assert "weak lines (weight &lt; 0.1)" in w.lines.value
    add["+ S_Ka"].click()
    assert sem.feature_list[-1] == "S_Ka"
    text = w.status.value
    assert text.startswith("⚠ Feature list set") and "Added: S_Ka." in text
    assert "Overlap: S_Ka and Pb_Ma (not a feature)" in text and "S_Ka and Mo_La (not a feature)" in text
    assert {b.description: b for b in w.add_buttons.children}["+ S_Ka"].disabled  # already a feature
    assert abs(line_energy("S_Ka") - 2.31) < 0.1


def test_a_segmenter_built_on_the_dataset_is_named_when_features_change(sem):
    from sigma.clustering import PixelSegmenter

    lat = np.random.default_rng(0).normal(size=(120, 2))
    ps = PixelSegmenter(lat, sem, "Kmeans", {"n_clusters": 3, "n_init": 1})
    gui.view_phase_map(ps)  # the GUI now knows this segmenter
    w = gui.view_dataset(sem)
    old = list(sem.feature_list)
    w.features.value = ", ".join(old[:-1])
    w.buttons["Set"].click()
    text = w.status.value
    assert "sigma-warning" in w.status._dom_classes
    assert "The clustering of an unnamed segmenter (#1) was made on the previous features" in text
    assert ", ".join(old) in text and "Set the old list back" in text
