"""One change notification per edit, so that every open view can follow the segmenter."""

from __future__ import annotations

import copy
import gc
import logging

import numpy as np
import pytest

from sigma._errors import SigmaError


class View:
    """A stand-in for a widget: records what it was told, by a bound method."""

    def __init__(self, ps):
        self.seen = []
        ps.observe(self.on_change)

    def on_change(self, change):
        # the segmenter is already consistent when the view is told
        self.seen.append((change.what, change.op, int(change.segmenter.n_clusters)))


def test_every_edit_notifies_once_after_the_state_is_consistent(ps_gmm):
    v = View(ps_gmm)
    n0 = ps_gmm.n_clusters
    ids = ps_gmm.cluster_ids.tolist()
    ps_gmm.merge_clusters(ids[:2])
    ps_gmm.recolour(ids[0], "#123456")
    ps_gmm.create_cluster(np.arange(10))
    ps_gmm.create_cluster_from_latent_region((-100, -100, 100, 100))
    ps_gmm.undo()
    ps_gmm.reset()
    assert [s[:2] for s in v.seen] == [
        ("labels", "merge_clusters"),
        ("colors", "recolour"),
        ("labels", "create_cluster"),
        ("labels", "create_cluster_from_latent_region"),
        ("labels", "undo"),
        ("labels", "reset"),
    ]
    assert v.seen[0][2] == n0 - 1  # told after the merge took effect
    assert v.seen[-1][2] == n0


def test_nmf_and_explicit_notifications(toy, toy_latent):
    from sigma.clustering import PixelSegmenter

    ps = PixelSegmenter(toy_latent, toy, "Kmeans", {"n_clusters": 3, "n_init": 1, "random_state": 0})
    v = View(ps)
    ps.get_unmixed_spectra_profile(n_components=2)
    ps.get_unmixed_spectra_profile_init_guess(n_components=2, seed_clusters=[0])
    ps.notify_changed("names")
    assert [s[:2] for s in v.seen] == [("nmf", "nmf"), ("nmf", "nmf"), ("names", "names")]
    with pytest.raises(SigmaError, match="'what'.*one of 'labels'.*Got 'pixels'"):
        ps.notify_changed("pixels")


def test_bound_methods_are_weak_and_closed_views_do_not_leak(ps_gmm):
    v = View(ps_gmm)
    assert ps_gmm.n_observers == 1
    del v
    gc.collect()
    assert ps_gmm.n_observers == 0
    ps_gmm.merge_clusters(ps_gmm.cluster_ids[:2])  # a dead view is simply dropped
    assert ps_gmm._observer_list() == []


def test_plain_callables_stay_until_unobserved_and_register_once(ps_gmm):
    seen = []

    def cb(change):
        seen.append(change.op)

    ps_gmm.observe(cb)
    ps_gmm.observe(cb)
    ps_gmm.recolour(ps_gmm.cluster_ids[0], "#000000")
    assert seen == ["recolour"]
    ps_gmm.unobserve(cb)
    ps_gmm.unobserve(cb)  # twice is fine
    ps_gmm.recolour(ps_gmm.cluster_ids[0], "#ffffff")
    assert seen == ["recolour"]
    with pytest.raises(SigmaError, match="'callback'"):
        ps_gmm.observe("not callable")


def test_a_failing_view_never_breaks_the_edit(ps_gmm, caplog):
    good = []

    def bad(change):
        raise RuntimeError("view is broken")

    ps_gmm.observe(bad)
    ps_gmm.observe(good.append)
    n0 = ps_gmm.n_clusters
    with caplog.at_level(logging.WARNING, logger="sigma.clustering._observers"):
        ps_gmm.merge_clusters(ps_gmm.cluster_ids[:2])
    assert ps_gmm.n_clusters == n0 - 1 and len(good) == 1
    assert "failed on labels/merge_clusters" in caplog.text


def test_copies_do_not_carry_the_views(ps_gmm):
    v = View(ps_gmm)
    other = ps_gmm.copy()
    deep = copy.deepcopy(other)  # never fails on weak references either
    other.merge_clusters(other.cluster_ids[:2])
    deep.merge_clusters(deep.cluster_ids[:2])
    assert v.seen == [] and other.n_observers == 0
