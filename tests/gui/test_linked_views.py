"""Every open view follows the segmenter; figures carry legends, units and scale bars.

Python half only (the browser tests check the same on the page): edits are made through the
widgets' own buttons or the segmenter's methods, then each open view's widgets are checked.
"""

from __future__ import annotations

import asyncio
import gc
import struct

import numpy as np
import pytest

from sigma.gui import gui
from sigma.plot import cluster_colors


def png_size(data: bytes) -> tuple[int, int]:
    return struct.unpack(">II", data[16:24])


@pytest.fixture
def seg():
    from sigma.synthetic import tiny_segmenter

    ds, ps = tiny_segmenter((12, 14), n_clusters=5)
    return ds, ps


def open_all(ps):
    weights, components = ps.get_unmixed_spectra_profile(n_components=2)
    return {
        "editor": gui.interactive_latent_plot(ps),
        "inspector": gui.check_latent_space(ps),
        "latent": gui.view_latent_space(ps),
        "phase": gui.view_phase_map(ps),
        "distribution": gui.show_cluster_distribution(ps, per_page=2),
        "spectra": gui.view_clusters_sum_spectra(ps),
        "nmf": gui.show_unmixed_weights_and_compoments(ps, weights, components),
        "abundance": gui.show_abundance_map(ps, weights, components),
    }


def test_a_merge_in_the_editor_updates_every_open_view(seg):
    _, ps = seg
    v = open_all(ps)
    v["distribution"].pager.next.click()  # clusters 2 and 3, so the merge into 3 shows
    before = {k: w.image.value for k, w in v.items() if hasattr(w, "image")}
    spectra_before = v["spectra"].map_image.value
    v["spectra"].clusters.value = (3, 4)
    ed = v["editor"]
    lab = ed._point_labels()
    ed.scatter.set_selection(np.flatnonzero(np.isin(lab, [3, 4])))
    ed.buttons["Merge Clusters"].click()
    assert ed.status.value.startswith("Merged clusters 3, 4 into 3. 4 clusters"), ed.status.value
    ids = [int(i) for i in ps.cluster_ids]
    assert ids == [0, 1, 2, 3]
    # the editor's own answer is not repeated by its observer
    assert ed.updates == []
    # static views redrew their figures and legends
    for k in ("phase", "latent", "distribution"):
        assert v[k].image.value != before[k], k
        assert v[k].status.value.startswith("Updated after merge_clusters"), (k, v[k].status.value)
    assert v["phase"].legend.ids == ids == v["latent"].legend.ids
    assert 'data-cluster="4"' not in v["phase"].legend.value
    assert list(v["latent"].cluster.options) == ids
    assert v["distribution"].pager.n == 4 and v["distribution"].shown == [2, 3]
    # the spectra view drops the merged-away id from its choices and its selection
    assert list(v["spectra"].clusters.options) == ids and v["spectra"].clusters.value == (3,)
    assert v["spectra"].map_image.value != spectra_before
    assert "clusters [4] no longer exist" in v["spectra"].status.value
    # the linked map: scatter colours and the overlay follow, legend too
    ins = v["inspector"]
    cols = cluster_colors(ps)
    assert set(np.array(ins.scatter.palette)[ins.scatter.codes][lab == 4]) == {cols[3]}
    assert ins.legend.ids == ids and "4 clusters" in ins.status.value
    # NMF weights are stale (a warning), abundances are not
    assert v["nmf"].status.value.startswith("⚠ Stale: the clusters changed (merge_clusters)")
    assert "sigma-warning" in v["nmf"].status._dom_classes
    assert v["abundance"].status.value.startswith("Unchanged after merge_clusters")
    # undo from code: every view follows again
    ps.undo()
    assert v["phase"].legend.ids == [0, 1, 2, 3, 4] == list(v["latent"].cluster.options)
    assert ed.status.value.startswith("Updated after undo") and ed.legend.ids == [0, 1, 2, 3, 4]


def test_a_recolour_in_one_view_shows_in_the_others(seg):
    _, ps = seg
    v = open_all(ps)
    lat = v["latent"]
    lat.cluster.value = 2
    lat.color_picker.value = "#123456"
    nmf_before = v["nmf"].image.value
    lat.buttons["Recolour"].click()
    assert ps.colors[2] == "#123456"
    ed = v["editor"]
    assert set(np.array(ed.scatter.palette)[ed.scatter.codes][ed._point_labels() == 2]) == {"#123456"}
    assert "background:#123456" in v["phase"].legend.value
    assert v["nmf"].image.value != nmf_before  # cluster colours on the weights plot
    assert v["nmf"].status.value.startswith("Redrawn after recolour")


def test_views_update_after_the_click_inside_a_kernel(seg):
    """With a running event loop (a kernel), other views update in the next loop turn."""
    _, ps = seg
    phase = gui.view_phase_map(ps)

    async def main():
        ps.merge_clusters([0, 1])
        assert phase.legend.ids == [0, 1, 2, 3, 4]  # not yet: the click's handler still runs
        ps.recolour(0, "#000000")  # two edits in one turn: one redraw
        await asyncio.sleep(0)
        return list(phase.updates)

    updates = asyncio.run(main())
    assert phase.legend.ids == [0, 2, 3, 4]
    assert updates == ["Updated after merge_clusters, recolour: phase map of 4 clusters."]


def test_closed_views_stop_following_and_are_freed(seg):
    _, ps = seg
    w = gui.view_phase_map(ps)
    assert ps.n_observers == 1
    w.close()
    ps.merge_clusters([0, 1])  # a closed widget unsubscribes itself
    assert ps.n_observers == 0
    w2 = gui.view_latent_space(ps)
    del w2
    gc.collect()
    # the widget registry of ipywidgets holds open widgets; closing releases them
    assert ps.n_observers <= 1


def test_figures_are_shown_at_their_natural_size_and_rendered_at_twice_it(seg):
    _, ps = seg
    w = gui.view_phase_map(ps)
    css_w = int(w.image.layout.width.removesuffix("px"))
    px_w, px_h = png_size(w.image.value)
    assert px_w == 2 * css_w and w.image.css_size == (css_w, px_h // 2)
    assert w.image.layout.max_width == "100%" and w.image.layout.height == "auto"


def test_maps_have_scale_bars_legends_and_labelled_colour_bars(seg):
    ds, ps = seg
    weights, components = ps.get_unmixed_spectra_profile(n_components=2)
    ab = gui.show_abundance_map(ps, weights, components)
    ann = ab.image.annotations
    assert ann["colorbar_labels"] == ["fraction of the pixel's modelled counts"]
    assert ann["scale_bars"] == ["200 nm"]  # 0.1 µm pixels, 14 px wide
    np.testing.assert_allclose(ab.fractions.sum(-1)[ab.abundance.sum(-1) > 0], 1, atol=1e-5)
    assert float(ab.fractions.max()) <= 1.0 + 1e-6
    ab.quantity.value = "weight"
    assert ab.image.annotations["colorbar_labels"] == ["NNLS weight (× the component spectrum)"]
    assert "NNLS weight" in ab.status.value
    pm = gui.view_phase_map(ps)
    assert pm.image.annotations["scale_bars"] and pm.legend.value.count('class="sigma-legend-item"') == 5
    dv = gui.view_dataset(ds)
    raw = dv.images["Elemental Maps (raw)"].annotations
    assert set(raw["colorbar_labels"]) == {"counts in the line window"}
    assert len(raw["scale_bars"]) == len(ds.feature_list)
    spec = dv.images["Sum Spectrum"].annotations
    assert spec["axis_labels"] == [("Energy (keV)", "counts per channel (all pixels)")]
    dist = gui.show_cluster_distribution(ps)
    labels = dist.image.annotations["axis_labels"]
    assert ("", "mean z-score") in labels and ("Energy (keV)", "counts / channel / px") in labels


def test_nmf_dropdown_shows_all_and_ticks_stay_readable_with_50_clusters():
    from sklearn.decomposition import PCA

    from sigma.clustering import PixelSegmenter
    from sigma.datasets import SEMDataset
    from sigma.synthetic import make_phantom
    from sigma.utils import normalisation as norm

    sem = SEMDataset(make_phantom((20, 30), n_channels=256, energy_scale=0.04, seed=4).to_signal())
    sem.normalisation([norm.zscore])
    lat = PCA(2, random_state=0).fit_transform(sem.normalised_elemental_data.reshape(600, -1))
    ps = PixelSegmenter(lat, sem, "Kmeans", {"n_clusters": 50, "n_init": 1, "random_state": 0})
    assert ps.n_clusters == 50
    # every one of the 50 clusters is reachable in the distribution view
    dist = gui.show_cluster_distribution(ps)
    labels = [label for label, _ in dist.pager.page.options]
    assert len(labels) == 13 and labels[0] == "clusters 0–3 of 50" and labels[-1] == "clusters 48–49 of 50"
    dist.pager.prev.click()  # wraps round to the last page
    assert dist.shown == [48, 49] and "Showing clusters 48, 49 of 50" in dist.status.value
    weights, components = ps.get_unmixed_spectra_profile(n_components=3)
    w = gui.show_unmixed_weights_and_components(ps, weights, components)
    assert w.component.label == "All" and w.component.index == 0
    from sigma import plot

    fig = plot.plot_nmf(weights, components, energy=ps.energy_axis, cluster_ids=ps.nmf_cluster_ids,
                        cluster_colours=ps.colors)
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in fig.axes[0].get_xticklabels()]
    assert len(boxes) == 50
    assert all(a.x1 <= b.x0 + 0.5 for a, b in zip(boxes, boxes[1:], strict=False)), "tick labels overlap"
    assert min(t.get_fontsize() for t in fig.axes[0].get_xticklabels()) >= 7


def test_cluster_names_show_in_every_legend_once_announced(seg):
    _, ps = seg
    phase, editor = gui.view_phase_map(ps), gui.interactive_latent_plot(ps)
    ps.cluster_names = {2: "ilmenite FeTiO₃"}  # what phase identification sets
    ps.notify_changed("names")
    for w in (phase, editor):
        assert "2 · ilmenite FeTiO₃" in w.legend.value
    assert phase.status.value == "Updated after names: phase map of 5 clusters."


def test_no_stray_progress_bar_above_the_cluster_views(seg, monkeypatch, capsys):
    """With progress bars on (the default outside the tests), the widgets print none: they show
    their own progress in the widget."""
    _, ps = seg
    monkeypatch.setenv("SIGMA_PROGRESS", "1")
    ps = ps.copy()  # no cached spectra: they are computed inside the views
    gui.show_cluster_distribution(ps)
    gui.view_clusters_sum_spectra(ps)
    weights, components = ps.get_unmixed_spectra_profile(n_components=2)
    capsys.readouterr()
    gui.show_abundance_map(ps, weights, components)
    err = capsys.readouterr().err
    assert "%|" not in err and "it/s" not in err, err
