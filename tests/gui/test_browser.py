"""End-to-end tests: the tutorial notebook in JupyterLab, driven in headless chromium.

These tests start a JupyterLab server on 127.0.0.1 (free port, token, private settings) whose
root is a temporary folder, open notebooks in Debian's ``/usr/bin/chromium`` through
Playwright, click "Run All" and then use the widgets as a user would (lasso and box drags on the
Bokeh plots, buttons, text boxes). After each action they check the kernel-side state through a
second kernel client, and save a screenshot to ``$SIGMA_ARTIFACTS/screenshots/`` (default
``<repo>/artifacts/screenshots/``).

Requirements: ``/usr/bin/chromium`` (``apt-get install -y chromium``; CI installs it in
``.ci/run``; ``SIGMA_CHROMIUM`` points elsewhere) and the ``playwright`` Python package; no
``playwright install`` and no network are needed. A missing chromium FAILS these tests. To opt
out on a developer machine, set ``SIGMA_SKIP_BROWSER=1`` (the tests then report as skipped).
"""

from __future__ import annotations

import re
import time

import nbformat
import pytest
from _jupyter import (
    KernelProbe,
    box_path,
    drag,
    largest_canvas_box,
    lasso_path,
    select_bokeh_tool,
)

pytestmark = pytest.mark.browser

SMOKE_CELLS = [
    """\
import ipywidgets as w
import numpy as np
from bokeh.io import output_notebook
from bokeh.models import BoxSelectTool, ColumnDataSource, LassoSelectTool
from bokeh.plotting import figure
from bokeh.resources import INLINE
from jupyter_bokeh import BokehModel

output_notebook(INLINE, hide_banner=True)""",
    """\
rng = np.random.default_rng(0)
src = ColumnDataSource(dict(x=rng.normal(size=5000), y=rng.normal(size=5000)))
p = figure(width=500, height=400, tools="pan,wheel_zoom,reset", output_backend="webgl")
lasso = LassoSelectTool(continuous=False)
p.add_tools(lasso, BoxSelectTool(continuous=False))
p.toolbar.active_drag = lasso
p.scatter("x", "y", source=src, size=3)
clicks = []
status = w.Label("ready")
status.add_class("sigma-status")
btn = w.Button(description="Count")
btn.add_class("sigma-count")

def on_click(_):
    clicks.append(len(src.selected.indices))
    status.value = f"{len(src.selected.indices)} selected"

btn.on_click(on_click)
w.VBox([BokehModel(p), btn, status])""",
]


def _wait_label(nbp, snippet: str, pattern: str, timeout: float = 60) -> str:
    """Wait until the ``sigma-status`` Label under ``snippet``'s cell matches ``pattern``."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = nbp.output(snippet).locator(".sigma-status").first.inner_text()
        if re.search(pattern, text):
            return text
        time.sleep(0.25)
    raise AssertionError(f"status Label still {text!r}, expected /{pattern}/ after {timeout} s")


@pytest.mark.timeout(180)
def test_harness_smoke(lab_server, open_notebook):
    """The harness itself: server, chromium, Run All, idle, lasso, button, probe, screenshots."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in SMOKE_CELLS])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, lab_server.root_dir / "smoke.ipynb")

    t0 = time.monotonic()
    nbp = open_notebook("smoke.ipynb")
    t_open = time.monotonic() - t0
    t_run = nbp.run_all(timeout=120)
    assert all(re.fullmatch(r"\[\d+\]:", p) for p in nbp.prompts()), nbp.prompts()
    assert not nbp.error_outputs(), nbp.error_outputs()

    out = nbp.output("BokehModel(p)")
    out.locator(".sigma-count").wait_for(timeout=60_000)
    box = largest_canvas_box(out)
    nbp.shot("smoke_00_rendered", out)

    probe = KernelProbe.for_notebook(lab_server, "smoke.ipynb")
    try:
        assert probe.eval("len(src.selected.indices)") == 0
        select_bokeh_tool(out, "lasso-select")
        t1 = time.monotonic()
        drag(nbp.page, box, lasso_path(0.5, 0.5, 0.25, 0.25))
        # selection reaches Python without any button
        deadline = time.monotonic() + 60
        while probe.eval("len(src.selected.indices)") == 0:
            assert time.monotonic() < deadline, "lasso selection never reached the kernel"
            time.sleep(0.25)
        t_sel = time.monotonic() - t1
        n = probe.eval("len(src.selected.indices)")
        assert 100 < n < 5000
        nbp.page.locator(".sigma-count button, button.sigma-count").first.click()
        text = _wait_label(nbp, "BokehModel(p)", r"^\d+ selected$")
        assert text == f"{n} selected"
        assert probe.eval("clicks") == [n]
        nbp.shot("smoke_01_lasso_count", out)

        select_bokeh_tool(out, "box-select")
        drag(nbp.page, box, box_path(0.25, 0.1, 0.6, 0.5))
        deadline = time.monotonic() + 60
        while probe.eval("len(src.selected.indices)") == n:
            assert time.monotonic() < deadline, "box selection never reached the kernel"
            time.sleep(0.25)
        nbp.shot("smoke_02_box", out)
    finally:
        probe.close()
    print(f"open {t_open:.1f}s run-all {t_run:.1f}s lasso->kernel {t_sel:.1f}s")
    assert not [c for c in nbp.console if c.startswith("pageerror")], nbp.console


# --------------------------------------------------------------------------- the tutorials
#: The GUI cells of the tutorial, by a unique part of their source (``nth`` when repeated), and
#: whether the widget shows a cluster legend and a calibration caption (scale bar).
GUI_CELLS = [
    ("view_dataset_raw", "gui.view_dataset(sem)", 0, False, True),
    ("view_dataset_binned", "gui.view_dataset(sem)", 1, False, True),
    ("view_pixel_distributions", "gui.view_pixel_distributions(", None, False, False),
    ("view_intensity_maps", "gui.view_intensity_maps(", None, False, False),
    ("show_projection", "gui.show_projection(", None, False, False),
    ("view_latent_space", "gui.view_latent_space(", None, True, False),
    ("interactive_latent_plot", "gui.interactive_latent_plot(ps=ps_gmm", None, True, False),
    ("check_latent_space", "gui.check_latent_space(", None, True, True),
    ("interactive_latent_plot_loaded", "gui.interactive_latent_plot(ps=ps_loaded", None, True, False),
    ("view_phase_map", "gui.view_phase_map(ps=ps_gmm", None, True, True),
    ("view_phase_evidence", "gui.view_phase_evidence(", None, False, False),
    ("show_cluster_distribution", "gui.show_cluster_distribution(", None, False, False),
    ("view_clusters_sum_spectra", "gui.view_clusters_sum_spectra(", None, True, False),
    ("show_unmixed_weights_and_components", "gui.show_unmixed_weights_and_compoments(", None, False, False),
    ("show_abundance_map", "gui.show_abundance_map(", None, False, True),
]
EDITOR = "gui.interactive_latent_plot(ps=ps_gmm"
INSPECTOR = "gui.check_latent_space("
#: Finds the widgets the tutorial's cells returned, in the kernel.
FIND_WIDGETS = """\
_t_editor = next(v for v in Out.values() if type(v).__name__ == 'LatentEditor' and v.ps is ps_gmm)
_t_inspector = next(v for v in Out.values() if type(v).__name__ == 'LatentMapInspector')
"""
#: Records every text a status Label shows (a message may be replaced within milliseconds).
_WATCH_JS = """(el, key) => {
    window.__sigmaStatus = window.__sigmaStatus || {};
    const log = (window.__sigmaStatus[key] = [el.textContent]);
    new MutationObserver(() => log.push(el.textContent)).observe(
        el, {childList: true, characterData: true, subtree: true});
}"""

class StatusWatch:
    """Every text shown by the ``sigma-status`` Label of one cell's widget, in order."""

    def __init__(self, nbp, snippet: str, nth: int | None = None):
        self.nbp, self.key = nbp, f"{snippet}#{nth}"
        self.el = nbp.output(snippet, nth).locator(".sigma-status").first
        self.el.evaluate(_WATCH_JS, self.key)
        self.mark = 0

    def history(self) -> list[str]:
        return self.nbp.page.evaluate("k => window.__sigmaStatus[k]", self.key)

    def wait(self, pattern: str, timeout: float = 60) -> str:
        """The first text shown since the last ``wait`` that matches ``pattern``."""
        deadline = time.monotonic() + timeout
        while True:
            hist = self.history()
            for i in range(self.mark, len(hist)):
                if re.search(pattern, hist[i]):
                    self.mark = i + 1
                    return hist[i]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"status never matched /{pattern}/ in {timeout} s; shown: {hist[self.mark :]}"
                )
            time.sleep(0.1)

    def settled(self, expected: str, problems: list[str], action: str, wait: float = 1.5) -> None:
        """Record a problem if the action's message is replaced by something else."""
        time.sleep(wait)
        now = self.el.inner_text()
        if now != expected:
            problems.append(f"{action}: status {expected!r} was replaced by {now!r}")


def _click(nbp, snippet: str, css: str) -> None:
    btn = nbp.output(snippet).locator(f"button.{css}").first
    btn.scroll_into_view_if_needed()
    btn.click()


def _until(check, what: str, timeout: float = 60):
    """Poll ``check()`` until it returns a true value; fail saying ``what`` never happened."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # noqa: BLE001 - the page may be mid-update
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen in {timeout} s (last: {last!r})")


def _legend_ids(out) -> list[str]:
    return out.locator(".sigma-legend").first.locator(".sigma-legend-item").evaluate_all(
        "els => els.map(e => e.dataset.cluster)")


def check_every_widget(nbp, cells, shots_prefix: str) -> list[str]:
    """Each GUI cell: rendered, no widget error, screenshots (the output and the viewport with the
    widget's top at the top), natural-size crisp figures, controls in view, legends, scale-bar
    captions, full tab titles. Returns the layout problems found."""
    from _layout import layout_problems, layout_report

    problems = []
    for name, snippet, nth, legend, caption in cells:
        out = nbp.output(snippet, nth)
        out.locator(".sigma-status").first.wait_for(timeout=60_000)
        assert "Error displaying widget" not in out.inner_text(), name
        assert out.locator("img, canvas").count() > 0, f"{name}: no figure rendered"
        rep = layout_report(out)
        problems += layout_problems(rep, name)
        nbp.page.screenshot(path=str(nbp.shots / f"{shots_prefix}{name}_viewport.png"))
        nbp.shot(f"{shots_prefix}{name}", out)
        if legend:
            items = rep["legends"][0]["items"] if rep["legends"] else []
            assert items and all(i["colour"].startswith("rgb") for i in items), f"{name}: no legend"
        if caption:
            assert any("Pixel" in c for c in rep["captions"]), f"{name}: no calibration caption"
    return problems


def _check_whole_spectrum_tab(nbp) -> list[str]:
    """Open the "Whole spectrum (PCA)" tab of the binned view: the kernel computes it, and its
    figures (scree, components over energy, score maps) show at natural size."""
    from _layout import layout_problems, layout_report

    out = nbp.output("gui.view_dataset(sem)", 1)
    tab = out.locator(".lm-TabBar-tab", has_text="Whole spectrum (PCA)").first
    tab.scroll_into_view_if_needed()
    tab.click()
    out.locator("img.sigma-pca-maps").first.wait_for(timeout=120_000)
    out.locator("img.sigma-pca-summary").first.wait_for(timeout=10_000)
    assert "Whole-spectrum PCA: 8 components" in out.locator(".sigma-status").first.inner_text()
    nbp.shot("tutorial_view_dataset_pca", out)
    return layout_problems(layout_report(out), "view_dataset_pca")


@pytest.fixture
def tutorial_copy(lab_server, real_dir):
    """The SEM tutorial on the real P45 map in the server's root, epochs cut as in
    test_notebook_exec."""
    from _jupyter import SEM_TUTORIAL, prepare_notebook
    from test_notebook_exec import CI_EPOCHS, REAL_SEM_BCF

    name = "Interactive_SEM_tutorial.ipynb"
    prepare_notebook(
        SEM_TUTORIAL,
        lab_server.root_dir / name,
        data_path=real_dir / REAL_SEM_BCF,
        replace={"ex.run_model(num_epochs=50,": f"ex.run_model(num_epochs={CI_EPOCHS},"},
    )
    return name


@pytest.mark.timeout(600)
def test_tutorial_in_jupyterlab(lab_server, open_notebook, tutorial_copy):
    """The SEM tutorial on the real P45 map, used as a scientist would.

    Every widget is checked as shown at 1600 × 1000 (natural-size crisp figures, controls in
    view, legends, scale bars, full tab titles); then merge, create, reset, recolour, inspect
    and edit features, asserting the kernel state and that the *other* open views changed on
    the page (legend entries, options, status lines, pixels of the figures). Glitches are
    collected in ``problems`` and reported at the end, so one does not hide the later checks.
    """
    from _layout import changed_fraction

    times, problems = {}, []
    t0 = time.monotonic()
    nbp = open_notebook(tutorial_copy)
    times["open"] = time.monotonic() - t0
    times["run_all"] = nbp.run_all(timeout=420)
    prompts = nbp.prompts()
    assert all(re.fullmatch(r"\[\d+\]:", p) for p in prompts), (prompts, nbp.error_outputs())
    assert not nbp.error_outputs(), nbp.error_outputs()
    problems += check_every_widget(nbp, GUI_CELLS, "tutorial_")
    problems += _check_whole_spectrum_tab(nbp)

    probe = KernelProbe.for_notebook(lab_server, tutorial_copy)
    try:
        probe.run(FIND_WIDGETS)
        n0 = probe.eval("len(ps_gmm.cluster_ids)")
        assert n0 >= 3
        # every figure of the phase, abundance and map views carries its annotations
        ann = probe.eval("[dict(v.image.annotations) for v in Out.values() "
                         "if type(v).__name__ == 'Panel' and 'sigma-phase-map' in v._dom_classes]")
        assert ann and ann[0]["scale_bars"] == ["200 µm"], ann
        ann = probe.eval("[dict(v.image.annotations) for v in Out.values() "
                         "if type(v).__name__ == 'Panel' and 'sigma-abundance' in v._dom_classes]")
        assert ann[0]["colorbar_labels"] == ["fraction of the pixel's modelled counts"], ann
        assert probe.eval("_t_inspector.map.scale_bar is not None")

        # the linked views, before the edit: what the page shows
        phase = nbp.output("gui.view_phase_map(ps=ps_gmm")
        phase_img = phase.locator("img.sigma-figure").first
        phase_png = phase_img.screenshot()
        ins = nbp.output(INSPECTOR)
        ins_map = ins.locator(".sigma-map canvas").first
        ins_png = ins_map.screenshot()
        assert len(_legend_ids(phase)) == n0 == len(_legend_ids(ins))
        spectra = nbp.output("gui.view_clusters_sum_spectra(")
        # the phase's own spectra: the dropdown redraws the plot (an SEM map: pure spectra)
        spectra_png = spectra.locator("img").last.screenshot()
        spectra.locator(".sigma-spectrum-kind select").select_option(label="Pure: rims unmixed")
        _until(lambda: "(pure spectra)" in spectra.locator(".sigma-status").first.inner_text(),
               "view_clusters_sum_spectra showing the pure spectra")
        _until(lambda: changed_fraction(spectra_png, spectra.locator("img").last.screenshot()) > 0.001,
               "the pure spectra plot replacing the mean one")
        nbp.shot("tutorial_view_clusters_sum_spectra_pure", spectra)
        spectra.locator(".sigma-spectrum-kind select").select_option(label="Mean of all pixels")
        _until(lambda: spectra.locator(".sigma-status").first.inner_text().endswith(f"of {n0}."),
               "view_clusters_sum_spectra back to the mean spectra")
        latent_view = nbp.output("gui.view_latent_space(")
        dist = nbp.output("gui.show_cluster_distribution(")
        nmf = nbp.output("gui.show_unmixed_weights_and_compoments(")

        out = nbp.output(EDITOR)
        st = StatusWatch(nbp, EDITOR)
        box = largest_canvas_box(out.locator(".sigma-latent").first)

        # -- lasso in the editor: whole clusters get selected
        select_bokeh_tool(out, "lasso-select")
        drag(nbp.page, box, lasso_path(0.5, 0.5, 0.3, 0.3))
        text = st.wait(r"^Selected clusters ")
        picked = probe.eval("_t_editor.selected_clusters")
        assert len(picked) >= 2, (text, picked)
        nbp.shot("editor_01_lasso", out)

        # -- Merge Clusters
        t1 = time.monotonic()
        _click(nbp, EDITOR, "sigma-merge")
        text = st.wait(r"^Merged clusters ")
        times["merge"] = time.monotonic() - t1
        merged = [i for i in picked if i != -1]
        n1 = probe.eval("len(ps_gmm.cluster_ids)")
        assert n1 == n0 - (len(merged) - 1), (text, n0, n1, merged)
        assert f"{n1} clusters" in text
        assert probe.eval(f"sorted(set(ps_gmm.cluster_ids.tolist()) & set({merged}))") == [min(merged)]
        st.settled(text, problems, "Merge Clusters")
        nbp.shot("editor_02_merged", out)

        # -- every other open view changed on the page, by itself
        t2 = time.monotonic()
        _until(lambda: len(_legend_ids(phase)) == n1, "the phase map legend losing the merged ids")
        gone = {str(i) for i in merged if i != min(merged)}
        assert not gone & set(_legend_ids(phase))
        _until(lambda: changed_fraction(phase_png, phase_img.screenshot()) > 0.002,
               "the phase map picture changing")
        _until(lambda: len(_legend_ids(ins)) == n1, "check_latent_space's legend following the merge")
        _until(lambda: changed_fraction(ins_png, ins_map.screenshot()) > 0.002,
               "check_latent_space's map canvas recolouring the merged clusters")
        _until(lambda: spectra.locator(".sigma-cluster-select option").count() == n1,
               "view_clusters_sum_spectra dropping the merged-away ids")
        _until(lambda: latent_view.locator(".sigma-cluster select option").count() == n1,
               "view_latent_space's cluster list following the merge")
        _until(lambda: f"of {n1}" in dist.locator(".sigma-page select").input_value()
               or f"of {n1}" in dist.locator(".sigma-page option:checked").inner_text(),
               "show_cluster_distribution's pages counting the clusters left")
        nmf_status = nmf.locator(".sigma-status").first
        _until(lambda: "Stale" in nmf_status.inner_text(), "the NMF view saying its weights are stale")
        bg = nmf_status.evaluate("e => getComputedStyle(e).backgroundColor")
        assert bg == "rgb(255, 244, 222)", f"the stale warning is not styled as a warning: {bg}"
        times["linked_views"] = time.monotonic() - t2
        for name, loc in (("phase_map_after_merge", phase), ("inspector_after_merge", ins),
                          ("nmf_after_merge", nmf)):
            nbp.shot(name, loc)

        # -- Select Points + box + Create Cluster
        _click(nbp, EDITOR, "sigma-select-points")
        st.wait(r"^Point selection")
        select_bokeh_tool(out, "box-select")
        drag(nbp.page, box, box_path(0.35, 0.3, 0.6, 0.6))
        text = st.wait(r"^Selected [\d,]+ displayed points \(box\)")
        assert probe.eval("len(_t_editor.scatter.selection)") > 0
        nbp.shot("editor_03_points", out)
        _click(nbp, EDITOR, "sigma-create")
        text = st.wait(r"^Created cluster ")
        new_id = int(re.search(r"Created cluster (-?\d+)", text).group(1))
        size = probe.eval(f"int((ps_gmm.labels == {new_id}).sum())")
        assert size > 0 and f"{size:,} px" in text, (text, size)
        assert probe.eval("ps_gmm.edit_history[-1][0]") == "create_cluster_from_latent_region"
        assert new_id in probe.eval("ps_gmm.cluster_ids.tolist()")
        st.settled(text, problems, "Create Cluster")
        nbp.shot("editor_04_created", out)
        _until(lambda: str(new_id) in _legend_ids(phase), "the new cluster appearing in the phase map legend")
        # a new cluster's colour is clearly different from every other (CIEDE2000 >= 12)
        assert probe.eval(
            f"min(__import__('sigma.clustering.palette', fromlist=['x']).delta_e(ps_gmm.colors[{new_id}], c) "
            f"for i, c in ps_gmm.colors.items() if i != {new_id})") >= 12

        # -- Reset + Confirm
        _click(nbp, EDITOR, "sigma-reset")
        st.wait(r"Press Confirm")
        nbp.shot("editor_05_confirm", out)
        _click(nbp, EDITOR, "sigma-confirm")
        text = st.wait(r"^Reset to the original clustering")
        assert probe.eval("len(ps_gmm.cluster_ids)") == n0
        assert probe.eval("bool((ps_gmm.labels == ps_gmm.labels_original).all())")
        st.settled(text, problems, "Reset/Confirm")
        nbp.shot("editor_06_reset", out)
        _until(lambda: len(_legend_ids(phase)) == n0, "the phase map legend after the reset")

        # -- Recolour Selection: lasso, pick a palette swatch, recolour
        select_bokeh_tool(out, "lasso-select")
        drag(nbp.page, box, lasso_path(0.5, 0.5, 0.2, 0.2))
        st.wait(r"^Selected clusters ")
        picked = probe.eval("_t_editor.selected_clusters")
        swatch = out.locator("button.sigma-swatch").nth(5)
        colour = swatch.get_attribute("title")
        swatch.click()
        _until(lambda: probe.eval("_t_editor.color_picker.value") == colour, f"the swatch setting {colour}")
        _click(nbp, EDITOR, "sigma-recolour")
        text = st.wait(r"^Recoloured clusters ")
        assert probe.eval(f"sorted({{ps_gmm.colors[i] for i in {picked}}})") == [colour]
        assert probe.eval("len(ps_gmm.cluster_ids)") == n0
        st.settled(text, problems, "Recolour Selection")
        nbp.shot("editor_07_recoloured", out)
        rgb = "rgb({}, {}, {})".format(*(int(colour[k : k + 2], 16) for k in (1, 3, 5)))
        swatch_of = phase.locator(f".sigma-legend-item[data-cluster='{picked[0]}'] .sigma-swatch-box")
        _until(lambda: swatch_of.evaluate("e => getComputedStyle(e).backgroundColor") == rgb,
               "the phase map legend showing the new colour")

        # -- check_latent_space: a lasso highlights pixels on the map
        out = nbp.output(INSPECTOR)
        st = StatusWatch(nbp, INSPECTOR)
        box = largest_canvas_box(out.locator(".sigma-latent").first)
        select_bokeh_tool(out, "lasso-select")
        drag(nbp.page, box, lasso_path(0.5, 0.5, 0.25, 0.25))
        text = st.wait(r"^Selected [\d,]+ px")
        n_px = probe.eval("len(_t_inspector.selected_pixels)")
        assert n_px > 0 and f"Selected {n_px:,} px" in text, (text, n_px)
        st.settled(text, problems, "check_latent_space lasso")
        nbp.shot("inspector_01_lasso", out)

        # -- view_dataset: edit the (stale) "Feature List" box and press "Set"
        snippet, nth = "gui.view_dataset(sem)", 1
        out = nbp.output(snippet, nth)
        st = StatusWatch(nbp, snippet, nth)
        field = out.locator(".sigma-features input").first
        shown = [f.strip() for f in field.input_value().split(",")]
        current = probe.eval("list(sem.feature_list)")
        assert "Navigator" in current and "Navigator" not in shown  # the box predates the navigator
        drop = [f for f in shown if f != "Navigator"][0]
        field.fill(", ".join(f for f in shown if f != drop))
        out.locator("button.sigma-set-features").first.click()
        text = st.wait(r"Feature list set", timeout=90)
        assert probe.eval("list(sem.feature_list)") == [f for f in current if f != drop]  # Navigator kept
        assert f"Removed: {drop}." in text and "ps_gmm" in text and "sigma-warning" in (
            out.locator(".sigma-status").first.get_attribute("class"))
        _until(lambda: "Navigator" in field.input_value(), "the box showing the real feature list")
        nbp.shot("view_dataset_features_edited", out)
    finally:
        probe.close()
    print(" ".join(f"{k} {v:.1f}s" for k, v in times.items()))
    assert not [c for c in nbp.console if c.startswith("pageerror")], nbp.console
    assert not problems, problems


#: The GUI cells of the TEM tutorial (same functions, the dataset is called ``tem``).
TEM_GUI_CELLS = [(n.replace("sem", "tem"), s.replace("(sem)", "(tem)"), nth, leg, cap) for n, s, nth, leg, cap
                 in GUI_CELLS if n != "view_phase_evidence"]  # the SEM tutorial's optional auto-K cell


@pytest.mark.timeout(480)
def test_tem_tutorial_in_jupyterlab(lab_server, open_notebook, real_dir):
    """The TEM tutorial on the real STEM ``.bcf``: every widget checked as shown, then an edit
    made from code reaches the open views on the page."""
    from _jupyter import TEM_TUTORIAL, prepare_notebook
    from test_notebook_exec import CI_EPOCHS, REAL_TEM_FILES

    name = TEM_TUTORIAL.name
    prepare_notebook(
        TEM_TUTORIAL,
        lab_server.root_dir / name,
        data_path=real_dir / REAL_TEM_FILES["tem_bcf"],
        replace={"ex.run_model(num_epochs=50,": f"ex.run_model(num_epochs={CI_EPOCHS},"},
    )
    nbp = open_notebook(name)
    nbp.run_all(timeout=420)
    prompts = nbp.prompts()
    assert all(re.fullmatch(r"\[\d+\]:", p) for p in prompts), (prompts, nbp.error_outputs())
    assert not nbp.error_outputs(), nbp.error_outputs()
    problems = check_every_widget(nbp, TEM_GUI_CELLS, "tem_")
    nav = nbp.output("gui.view_dataset(tem)", 0)
    assert "Pixel 0.771 nm" in nav.locator(".sigma-calibration").first.inner_text()
    probe = KernelProbe.for_notebook(lab_server, name)
    try:
        n0 = probe.eval("len(ps_gmm.cluster_ids)")
        phase = nbp.output("gui.view_phase_map(ps=ps_gmm")
        editor = nbp.output("gui.interactive_latent_plot(ps=ps_gmm")
        probe.run("ps_gmm.merge_clusters(ps_gmm.cluster_ids[:2].tolist())")
        _until(lambda: len(_legend_ids(phase)) == n0 - 1, "the TEM phase map legend following a merge from code")
        _until(lambda: "Updated after merge_clusters" in editor.locator(".sigma-status").first.inner_text(),
               "the editor saying it followed the merge")
        nbp.shot("tem_phase_map_after_merge", phase)
        # an error is shown as one: red text on pink with a ✖ (merge with nothing selected)
        _click(nbp, "gui.interactive_latent_plot(ps=ps_gmm", "sigma-merge")
        status = editor.locator(".sigma-status").first
        _until(lambda: status.inner_text().startswith("✖ Error in Merge Clusters"), "the merge error shown")
        style = status.evaluate("e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]")
        assert style == ["rgb(142, 27, 27)", "rgb(253, 236, 234)"], style
        nbp.shot("tem_editor_error", editor)
    finally:
        probe.close()
    assert not [c for c in nbp.console if c.startswith("pageerror")], nbp.console
    assert not problems, problems
