"""Figure builders: numbers on the figures, and PNG snapshots for review."""

from __future__ import annotations

import numpy as np
import pytest

from sigma import plot
from sigma.xray import line_energy


@pytest.fixture(scope="module")
def shots(artifacts_dir):
    d = artifacts_dir / "screenshots"
    d.mkdir(parents=True, exist_ok=True)
    return d


def test_sum_spectrum_annotations_sit_at_line_energies_on_an_odd_axis(odd_axis_sem, shots):
    sem = odd_axis_sem
    ax = plot.plot_sum_spectrum(sem)
    pos = {t.get_text(): t.get_position()[0] for t in ax.texts}
    assert set(pos) == set(sem.xray_lines)
    for name, x in pos.items():
        assert x == pytest.approx(line_energy(name), abs=1e-9)
    e = sem.energy_axis_of(sem.spectra)
    assert e[1] - e[0] == pytest.approx(0.0137)
    # x range: the data's own axis from 0 keV, cut a margin past the last line (not a
    # hard-coded 0-8 keV, not the whole detector axis)
    lo, hi = ax.get_xlim()
    assert lo == 0.0 and hi <= e[-1] + 1e-9
    assert hi >= max(line_energy(n) for n in sem.xray_lines) + 0.5
    # the plotted curve uses the true energies of the channels
    np.testing.assert_allclose(ax.lines[0].get_xdata(), e)
    vlines = sorted(ln.get_xdata()[0] for ln in ax.lines[1:])
    np.testing.assert_allclose(vlines, sorted(line_energy(n) for n in sem.xray_lines))
    plot.save_png(ax.figure, shots / "sum_spectrum_odd_axis.png")


def test_sum_spectrum_after_cropping_and_binning(odd_axis_sem):
    import copy

    sem = copy.deepcopy(odd_axis_sem)
    sem.rebin_signal((2, 2))
    sem.remove_first_peak(0.5)
    ax = plot.plot_sum_spectrum(sem, binned=True)
    assert ax.get_xlim()[0] == pytest.approx(sem.energy_axis_of(sem.spectra_bin)[0])
    assert all(t.get_position()[0] >= 0.5 for t in ax.texts)


def test_cluster_colors_come_from_the_segmenter(clustered):
    _, ps = clustered
    cols = plot.cluster_colors(ps)
    for i in ps.cluster_ids:
        assert cols[int(i)] == ps.colors[int(i)]
    rgba = plot.label_rgba(ps.labels, cols, alpha=1.0)
    from matplotlib.colors import to_hex

    i0 = int(ps.cluster_ids[0])
    r, c = np.argwhere(np.asarray(ps.labels) == i0)[0]
    assert to_hex(rgba[r, c]) == ps.colors[i0]


def test_phase_map_and_latent_use_segmenter_colours(clustered, shots):
    from matplotlib.colors import to_hex

    _, ps = clustered
    ax = plot.plot_phase_map(ps, alpha=1.0)
    over = ax.images[1].get_array()
    lab = np.asarray(ps.labels)
    for i in ps.cluster_ids:
        r, c = np.argwhere(lab == i)[0]
        assert to_hex(over[r, c]) == ps.colors[int(i)]
    plot.save_png(ax.figure, shots / "phase_map.png")
    ax = plot.plot_latent(ps, color=True)
    fc = ax.collections[0].get_facecolors()
    flat = lab.ravel()
    for i in ps.cluster_ids:
        k = int(np.flatnonzero(flat == i)[0])
        assert to_hex(fc[k]) == ps.colors[int(i)]
    # one ellipse per Gaussian, centred on the model's means
    centres = np.array(sorted({tuple(map(float, p.center)) for p in ax.patches}))
    means = np.array(sorted(tuple(map(float, m[:2])) for m in ps.model.means_))
    np.testing.assert_allclose(centres, means, rtol=1e-5)
    plot.save_png(ax.figure, shots / "latent_gmm.png")


def test_gaussian_ellipse_axes_follow_the_covariance():
    from types import SimpleNamespace

    cov = np.array([[[4.0, 0.0], [0.0, 1.0]]])
    rot = np.array([[0.0, -1.0], [1.0, 0.0]])
    m = SimpleNamespace(means_=np.zeros((1, 2)), covariances_=rot @ cov @ rot.T, covariance_type="full")
    (_, w, h, a), = plot.gaussian_ellipses(m, n_std=1.0)
    assert (w, h) == pytest.approx((4.0, 2.0))
    assert a == pytest.approx(90.0)


def test_other_builders_draw_and_save(clustered, shots):
    from sigma.utils import normalisation as norm

    sem, ps = clustered
    feats = sem.feature_list
    fig = plot.plot_feature_maps(sem.get_feature_maps(feats, raw_data=True), feats)
    assert len([a for a in fig.axes if a.get_title()]) == len(feats)
    plot.save_png(fig, shots / "elemental_maps_raw.png")
    fig = plot.plot_pixel_distributions(sem.get_feature_maps(feats), feats, [norm.neighbour_averaging, norm.zscore],
                                        cmap="Reds")
    assert len(fig.axes) == 3 * len(feats)
    plot.save_png(fig, shots / "pixel_distributions.png")
    plot.save_png(plot.plot_projection(ps.latent).figure, shots / "projection.png")
    ax = plot.plot_cluster_spectra(ps, normalisation=True, spectra_range=(0, 8))
    assert ax.get_xlim() == (0, 8)
    for line, i in zip(ax.lines, ps.cluster_ids, strict=False):
        assert line.get_color() == ps.colors[int(i)]
        assert line.get_ydata().max() == pytest.approx(1.0)
    plot.save_png(ax.figure, shots / "cluster_spectra.png")
    plot.save_png(plot.plot_cluster_distribution(ps), shots / "cluster_distribution.png")
    w, comp = ps.get_unmixed_spectra_profile("All", 3, False, "NMF", {"init": "nndsvd"})
    fig = plot.plot_nmf(w, comp, energy=ps.energy_axis, cluster_ids=ps.nmf_cluster_ids,
                        cluster_colours=plot.cluster_colors(ps))
    assert len(fig.axes[1].lines) == 3
    plot.save_png(fig, shots / "nmf.png")
    ab = ps.abundance_maps(comp, progress=False)
    plot.save_png(plot.plot_abundance_map(ab, 0).figure, shots / "abundance_0.png")


def test_builders_reject_bad_input():
    with pytest.raises(ValueError, match="alpha_cluster_map"):
        from types import SimpleNamespace

        plot.plot_phase_map(SimpleNamespace(labels=np.zeros((2, 2), int), colors={}, dataset=None), alpha=2)
    with pytest.raises(ValueError, match="maps"):
        plot.plot_feature_maps(np.zeros((2, 2, 3)), ["a"])
    with pytest.raises(ValueError, match="weights/components"):
        plot.plot_nmf(np.zeros((3, 2)), np.zeros((3, 5)))


def test_visualisation_import_path_reexports_the_builders():
    from sigma.utils import visualisation as visual

    assert visual.plot_phase_map is plot.plot_phase_map
    assert visual.plot_sum_spectrum is plot.plot_sum_spectrum


def test_plot_layer_imports_no_widgets():
    import subprocess
    import sys

    code = "import sys, sigma.plot; print(any(m.startswith(('ipywidgets', 'jupyter_bokeh')) for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------- readable at a glance
def _overlaps(texts):
    boxes = [t.get_window_extent() for t in texts]
    return [(a.get_text(), b.get_text()) for i, (a, ba) in enumerate(zip(texts, boxes, strict=True))
            for b, bb in zip(texts[i + 1 :], boxes[i + 1 :], strict=True) if ba.overlaps(bb)]


def test_line_labels_never_overlap_and_the_range_is_the_useful_one(real_dir):
    from sigma.datasets import SEMDataset, TEMDataset

    sem = SEMDataset(real_dir / "bcf/P45_12bit_packed_8bit.bcf")  # 11 lines, most below 4 keV
    ax = plot.plot_sum_spectrum(sem)
    ax.figure.canvas.draw()
    labels = [t for t in ax.texts if (t.get_gid() or "").startswith("line:")]
    assert len(labels) == 11 and not _overlaps(labels)
    assert ax.get_xlim() == pytest.approx((0.0, line_energy("Fe_Ka") + 1.5))  # not 0-20 keV
    assert ax.get_ylabel() == "counts per channel (all pixels)"
    # overlapping lines still get separate labels
    ax = plot.plot_sum_spectrum(sem, feature_list=["Fe_Ka", "Mn_Kb", "S_Ka", "Mo_La", "Pb_Ma"])
    ax.figure.canvas.draw()
    assert not _overlaps([t for t in ax.texts if (t.get_gid() or "").startswith("line:")])
    # a 200 kV STEM map: up to the last line of interest, far below the beam energy
    tem = TEMDataset(real_dir / "hspy/core_shell.hspy")
    lo, hi = plot.plot_sum_spectrum(tem).get_xlim()
    assert lo == pytest.approx(0.16) and hi == pytest.approx(line_energy("Pt_La") + 1.5)


def test_maps_carry_scale_bars_from_the_calibration_and_labelled_colour_bars(real_dir):
    from sigma.datasets import SEMDataset, TEMDataset

    sem = SEMDataset(real_dir / "bcf/P45_12bit_packed_8bit.bcf")
    size, unit = plot.pixel_size(sem)
    assert size == pytest.approx(8.7368, rel=1e-4) and unit == "µm"
    ax = plot.plot_nav_image(sem)
    assert [a.txt_label.get_text() for a in ax.artists] == ["200 µm"]  # 22 % of 874 µm
    sem.rebin_signal((3, 3))
    assert plot.pixel_size(sem)[0] == pytest.approx(3 * 8.7368, rel=1e-4)
    fig = plot.plot_feature_maps(sem.get_feature_maps(), sem.feature_list,
                                 units=plot.feature_units(sem), calibration=sem)
    cbars = [a.get_ylabel() for a in fig.axes if a.get_label() == "<colorbar>"]
    assert cbars == ["counts in the line window"] * 11
    tem = TEMDataset(real_dir / "bcf/test_TEM.bcf")
    assert [a.txt_label.get_text() for a in plot.plot_nav_image(tem).artists] == ["10 nm"]


def test_legends_name_clusters_once_they_have_names(clustered):
    _, ps = clustered
    ps = ps.copy()
    ids = ps.cluster_ids.tolist()
    ps.cluster_names = {ids[0]: "ilmenite FeTiO₃"}
    ax = plot.plot_phase_map(ps)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[0].startswith(f"{ids[0]} · ilmenite FeTiO₃ (") and len(texts) == len(ids)
    ax = plot.plot_latent(ps)
    assert f"{ids[0]} · ilmenite FeTiO₃" in [t.get_text() for t in ax.get_legend().get_texts()]
    ax = plot.plot_cluster_spectra(ps, ids[:2])
    assert ax.get_lines()[0].get_label() == f"cluster {ids[0]} · ilmenite FeTiO₃"


def test_a_long_title_wraps_to_a_narrow_grid():
    """Two maps make a figure narrower than the report's title: it wraps instead of being cut."""
    title = "Normalised feature maps (neighbour_averaging, zscore)"
    fig = plot.plot_feature_maps(np.zeros((4, 5, 2)), ["Fe_Ka", "Pt_La"], title=title)
    shown = fig._suptitle.get_text()
    assert "\n" in shown and shown.replace("\n", " ") == title
