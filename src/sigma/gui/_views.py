"""Views of a segmenter's clusters: latent space, phase map, per-cluster distribution and
spectra. Each follows the segmenter (``Panel.follow``), so an edit made anywhere shows in every
open view, and each shows an HTML legend (id, name once known, area) beside its figure.
"""

from __future__ import annotations

import html
import logging

import ipywidgets as widgets
import numpy as np

from .. import plot
from ._base import Pager, Panel, button, changes_text, png_widget, set_png
from ._dataset import remember_segmenter
from ._evidence import evidence_state
from ._legend import ClusterLegend, calibration_caption

log = logging.getLogger(__name__)


def _n_clusters(ps) -> str:
    n = len(ps.cluster_ids)
    return f"{n} cluster{'s' if n != 1 else ''}"


def _caption(ps) -> widgets.HTML:
    cap = widgets.HTML(html.escape(calibration_caption(ps, np.shape(ps.labels)[1])))
    cap.add_class("sigma-caption")
    cap.add_class("sigma-calibration")
    return cap


# ----------------------------------------------------------------------------- latent space
def latent_space_panel(ps, color: bool = True) -> Panel:
    """Widget of :func:`sigma.gui.gui.view_latent_space`."""
    remember_segmenter(ps)
    p = Panel()
    p.add_class("sigma-view-latent")

    def draw():
        return plot.plot_latent(ps, color=color, legend=False).figure

    p.image = png_widget(draw())
    p.legend = ClusterLegend(ps)
    p.legend.layout.display = "flex" if color else "none"
    ids = [int(i) for i in ps.cluster_ids]
    cols = plot.cluster_colors(ps)
    p.cluster = widgets.Dropdown(options=ids, description="Cluster", layout=widgets.Layout(width="180px"))
    p.cluster.add_class("sigma-cluster")
    p.color_picker = widgets.ColorPicker(value=cols[ids[0]] if ids else "#1f77b4", description="Colour")
    p.color_picker.add_class("sigma-color")
    p.cluster.observe(lambda c: setattr(p.color_picker, "value", plot.cluster_colors(ps).get(c["new"], "#000000"))
                      if c["new"] is not None else None, names="value")
    rec = button("Recolour", "sigma-recolour", "Give the chosen cluster this colour")

    def redraw():
        set_png(p.image, draw())
        p.legend.update()
        ids = [int(i) for i in ps.cluster_ids]
        if list(p.cluster.options) != ids:
            keep = p.cluster.value if p.cluster.value in ids else (ids[0] if ids else None)
            p.cluster.options = ids
            p.cluster.value = keep

    def recolour():
        with p.editing():
            ps.recolour([p.cluster.value], p.color_picker.value)
        redraw()
        return f"Recoloured cluster {p.cluster.value} to {p.color_picker.value}. {len(ps.cluster_ids)} clusters."

    def on_change(changes):
        redraw()
        return f"Updated after {changes_text(changes)}: {_n_clusters(ps)}."

    p.on_click(rec, "Recolour", recolour)
    p.follow(ps, on_change)
    controls = [p.cluster, p.color_picker, rec] if color else []
    p.set_body(widgets.HBox([p.image, p.legend]), widgets.HBox(controls))
    p.say(f"{len(ps.cluster_ids)} clusters" + ("; Gaussians drawn as 2σ ellipses." if plot.gaussian_ellipses(
        getattr(ps, "model", None)) else "."))
    return p


# ----------------------------------------------------------------------------- phase map
def phase_map_panel(ps, alpha_cluster_map: float = 0.5) -> Panel:
    """Widget of :func:`sigma.gui.gui.view_phase_map`."""
    remember_segmenter(ps)
    p = Panel()
    p.add_class("sigma-phase-map")
    p.alpha = widgets.FloatSlider(value=float(alpha_cluster_map), min=0, max=1, step=0.05, description="Opacity",
                                  continuous_update=False)
    p.alpha.add_class("sigma-alpha")

    def draw():
        return plot.plot_phase_map(ps, alpha=p.alpha.value, legend=False).figure

    p.image = png_widget(draw())
    p.legend = ClusterLegend(ps)
    # the number of phases decided from the counts: say so, and whether the map still is that fit
    p.evidence_note = widgets.HTML()
    p.evidence_note.add_class("sigma-caption")
    p.evidence_note.add_class("sigma-evidence-note")

    def note():
        ev = getattr(ps, "n_components_evidence", None)
        p.evidence_note.layout.display = "none" if ev is None else "flex"
        if ev is not None:
            text, changed = evidence_state(ps)
            style = " style='color:#6b4200'" if changed else ""
            p.evidence_note.value = (f"<span{style}>Number of phases decided from the counts (n_components="
                                     f"\"auto\"): {ev.n_components} (BIC minimum {ev.k_bic} of {ev.n_start} "
                                     f"clusters). {html.escape(text)} The curve and decisions: "
                                     "<code>gui.view_phase_evidence(ps)</code>.</span>")

    def redraw():
        set_png(p.image, draw())
        p.legend.update()
        note()
        return f"Phase map: {len(ps.cluster_ids)} clusters, opacity {p.alpha.value:.2f}."

    def on_change(changes):
        redraw()
        return f"Updated after {changes_text(changes)}: phase map of {_n_clusters(ps)}."

    p.alpha.observe(lambda _c: p.run("opacity", redraw), names="value")
    p.on_click(button("Refresh", "sigma-refresh", "Redraw with the segmenter's current clusters and colours"),
               "Refresh", redraw)
    p.follow(ps, on_change)
    note()
    p.set_body(widgets.HBox([p.alpha, p.buttons["Refresh"]]), widgets.HBox([p.image, p.legend]), _caption(ps),
               p.evidence_note)
    p.say(f"Phase map: {len(ps.cluster_ids)} clusters.")
    return p


# ----------------------------------------------------------------------------- distribution
class ClusterDistribution(Panel):
    """Widget of :func:`sigma.gui.gui.show_cluster_distribution`: ``per_page`` clusters at a
    time, every cluster reachable through the pages (``.pager``)."""

    def __init__(self, ps, per_page: int = 4):
        super().__init__()
        remember_segmenter(ps)
        self.add_class("sigma-cluster-distribution")
        self.ps = ps
        ids = [int(i) for i in ps.cluster_ids]
        self.pager = Pager(len(ids), per_page, noun="cluster", names=[str(i) for i in ids])
        with self.busy(1, "cluster spectra"):
            self.image = png_widget(self._figure())
        self.pager.on_change(lambda: self.run("page", self._redraw))
        self.follow(ps, self._on_change)
        self.set_body(self.pager, self.image)
        self.say(f"{len(ids)} clusters" + (f"; {per_page} per page, use ◀ ▶ or the list for the others."
                                           if len(ids) > per_page else "."))

    @property
    def shown(self) -> list[int]:
        """Cluster ids on the current page."""
        ids = [int(i) for i in self.ps.cluster_ids]
        return [ids[k] for k in self.pager.items if k < len(ids)]

    def _figure(self):
        return plot.plot_cluster_distribution(self.ps, cluster_ids=self.shown)

    def _redraw(self) -> str:
        set_png(self.image, self._figure())
        return f"Showing clusters {', '.join(map(str, self.shown))} of {len(self.ps.cluster_ids)}."

    def _on_change(self, changes) -> str:
        ids = [int(i) for i in self.ps.cluster_ids]
        self.pager.set_items(len(ids), [str(i) for i in ids])
        self._redraw()
        return f"Updated after {changes_text(changes)}: {_n_clusters(self.ps)}; showing {self.shown}."


# ----------------------------------------------------------------------------- spectra
def cluster_spectra_panel(ps, normalisation: bool = True, spectra_range=None) -> Panel:
    """Widget of :func:`sigma.gui.gui.view_clusters_sum_spectra`."""
    remember_segmenter(ps)
    p = Panel()
    p.add_class("sigma-cluster-spectra")
    ids = [int(i) for i in ps.cluster_ids]
    p.clusters = widgets.SelectMultiple(options=ids, value=ids[:1], description="Clusters",
                                        rows=min(12, max(len(ids), 1)), layout=widgets.Layout(width="170px"))
    p.clusters.add_class("sigma-cluster-select")
    # which spectrum: the mean, or the phase's own (core; pure on SEM, net on TEM maps)
    thin = bool(getattr(ps, "_is_thin_sample", lambda: False)())
    own = ("Net: film removed", "net") if thin else ("Pure: rims unmixed", "pure")
    p.kind = widgets.Dropdown(options=[("Mean of all pixels", "mean"), ("Core pixels", "core"), own],
                              value="mean", description="Spectrum", layout=widgets.Layout(width="280px"))
    p.kind.add_class("sigma-spectrum-kind")

    def figs():
        sel = list(p.clusters.value)
        m = plot.plot_phase_map(ps, alpha=0.8, highlight=sel, legend=False, title="Where they are").figure
        s = plot.new_figure((9.5, 3.3), layout="constrained")
        plot.plot_cluster_spectra(ps, sel, normalisation=normalisation, spectra_range=spectra_range,
                                  ax=s.add_subplot(), kind=p.kind.value)
        return m, s

    with p.busy(1, "cluster spectra"):
        m, s = figs()
    p.map_image, p.spectra_image = png_widget(m), png_widget(s)
    p.legend = ClusterLegend(ps, ids=list(p.clusters.value), title="Selected")

    def redraw():
        m, s = figs()
        set_png(p.map_image, m)
        set_png(p.spectra_image, s)
        p.legend.update(list(p.clusters.value))
        kind = "" if p.kind.value == "mean" else f" ({p.kind.label.split(':')[0].lower()} spectra)"
        return f"Showing clusters {list(p.clusters.value)} of {len(ps.cluster_ids)}{kind}."

    def on_change(changes):
        ids = [int(i) for i in ps.cluster_ids]
        keep = tuple(i for i in p.clusters.value if i in ids) or tuple(ids[:1])
        gone = sorted(set(p.clusters.value) - set(keep))
        p._syncing = True  # one redraw below, not one per trait change
        try:
            if list(p.clusters.options) != ids:
                p.clusters.options = ids
            p.clusters.value = keep
        finally:
            p._syncing = False
        redraw()
        return (f"Updated after {changes_text(changes)}: {_n_clusters(ps)}"
                + (f"; clusters {gone} no longer exist." if gone else "."))

    p.clusters.observe(lambda _c: None if getattr(p, "_syncing", False) else p.run("cluster selection", redraw),
                       names="value")
    p.kind.observe(lambda _c: p.run("spectrum kind", redraw), names="value")
    p.follow(ps, on_change)
    p.set_body(widgets.HBox([widgets.VBox([p.clusters, p.kind]), p.map_image, p.legend]), p.spectra_image)
    p.say(f"Showing clusters {list(p.clusters.value)} of {len(ids)}.")
    return p
