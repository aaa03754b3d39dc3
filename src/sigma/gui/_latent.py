"""The two linked latent-space widgets: cluster editing and latent ↔ map inspection.

Both only call the segmenter's public methods (``merge_clusters``, ``create_cluster``,
``create_cluster_from_latent_region``, ``recolour``, ``reset``) and then redraw colours from
``ps.colors``. Both follow the segmenter: an edit made in one (or in any other view, or from
code) redraws the other's colours, legend and counts.
"""

from __future__ import annotations

import logging
import time

import ipywidgets as widgets
import numpy as np

from ..plot.annotate import feature_units, pixel_size, unassigned_label
from ..plot.colors import cluster_colors, label_rgba, palette
from ..plot.interactive import color_codes
from ..plot.latent import without_excluded
from ._base import Panel, button, changes_text
from ._dataset import remember_segmenter
from ._legend import ClusterLegend, calibration_caption
from .backend import BokehLatentScatter, BokehMapView, geometry_to_region

log = logging.getLogger(__name__)

#: Alpha (hex) appended to the colours of unselected clusters in ``interactive_latent_plot``.
FADED_ALPHA = "26"
#: Colour of highlighted pixels on the map in ``check_latent_space``.
HIGHLIGHT_COLOR = "#ffff00"


def sample_points(n: int, ratio: float, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``round(ratio * n)`` points drawn without replacement.

    Examples
    --------
    >>> s = sample_points(10, 0.5)
    >>> len(s), len(set(s.tolist())), bool((np.diff(s) > 0).all())
    (5, 5, True)
    """
    from .._errors import bad_value

    if not 0 < float(ratio) <= 1:
        raise bad_value("ratio_to_be_shown", ratio, "a fraction in (0, 1]")
    k = max(1, int(round(float(ratio) * n)))
    if k >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, k, replace=False))


def shown_points(ps, ratio: float, seed: int = 0) -> np.ndarray:
    """:func:`sample_points` of the segmenter's pixels, without those its dataset excluded
    (outside the scan, no counts): they are not data, and drawn they make a clump of their own.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> ps = SimpleNamespace(latent=np.zeros((4, 2)), excluded_mask=np.array([[True, False], [False, False]]))
    >>> shown_points(ps, 1.0).tolist()
    [1, 2, 3]
    """
    return without_excluded(ps, sample_points(len(np.asarray(ps.latent)), ratio, seed))


def _ids_text(ids) -> str:
    ids = [int(i) for i in ids]
    if len(ids) > 12:
        return ", ".join(map(str, ids[:12])) + f", … ({len(ids)} clusters)"
    return ", ".join(map(str, ids))


def _counts_text(ps) -> str:
    noise = int((np.asarray(ps.labels) == -1).sum())
    n = len(ps.cluster_ids)
    what = unassigned_label(ps).removesuffix(" (-1)")
    return f"{n} cluster{'s' if n != 1 else ''}" + (f" (+{noise:,} {what} px)" if noise else "")


class LatentEditor(Panel):
    """Widget of :func:`sigma.gui.gui.interactive_latent_plot`.

    Attributes
    ----------
    ps : PixelSegmenter
    scatter : LatentScatter
        The latent scatter; point ``k`` is pixel ``sample[k]``.
    sample : ndarray
        Flat pixel indices of the displayed points (sorted, no repeats).
    buttons : dict
        ``'Recolour Selection'``, ``'Merge Clusters'``, ``'Select Points'``,
        ``'Create Cluster'``, ``'Include -1'``, ``'Exclude -1'``, ``'Clear Selection'``,
        ``'Reset'``, ``'Confirm'`` (shown after Reset), ``'Cancel'``.
    color_picker : ipywidgets.ColorPicker
        The colour used by "Recolour Selection" (palette swatches set it).
    swatches : list of ipywidgets.Button
        ``n_colours`` palette buttons.
    mode : {'clusters', 'points'}
    include_noise : bool
    selected_clusters : list of int
        Clusters selected so far: clicks, boxes and lassos add to it (shown by fading the
        others); "Clear Selection" or a double click empties it.
    timings : dict
        Kernel seconds of the last selection handling and of each action's redraw.
    """

    def __init__(self, ps, ratio_to_be_shown: float = 1.0, n_colours: int = 30, seed: int = 0):
        super().__init__()
        self.add_class("sigma-latent-editor")
        remember_segmenter(ps)
        self.ps = ps
        n = len(np.asarray(ps.latent))
        self.sample = shown_points(ps, ratio_to_be_shown, seed)
        self.mode = "clusters"
        self.include_noise = False
        self.selected_clusters: list[int] = []
        self.timings: dict[str, float] = {}
        z = np.asarray(ps.latent)[self.sample]
        codes, pal = self._codes()
        self.scatter = BokehLatentScatter(z[:, 0], z[:, 1] if z.shape[1] > 1 else np.zeros(len(z)),
                                          codes, pal, title=f"Latent space ({len(self.sample):,} of {n:,} points)")
        self.scatter.on_select(self._on_select)
        self.scatter.on_clear(self._on_clear)
        self.scatter.on_geometry(self._on_geometry)

        b = {
            "recolour": button("Recolour Selection", "sigma-recolour", "Give the selected clusters the chosen colour"),
            "merge": button("Merge Clusters", "sigma-merge", "Merge the selected clusters into one"),
            "points": button("Select Points", "sigma-select-points",
                             "Toggle: box/lasso select points (for a new cluster) instead of clusters"),
            "create": button("Create Cluster", "sigma-create", "New cluster of every pixel inside the drawn region"),
            "include": button("Include -1", "sigma-include-noise", "New clusters take noise (-1) pixels too"),
            "exclude": button("Exclude -1", "sigma-exclude-noise", "New clusters leave noise (-1) pixels alone",
                              style="info"),
            "clear": button("Clear Selection", "sigma-clear", "Deselect everything (or double-click the plot)"),
            "reset": button("Reset", "sigma-reset", "Return to the original clustering (asks to confirm)"),
            "confirm": button("Confirm", "sigma-confirm", "Really reset every edit", style="danger"),
            "cancel": button("Cancel", "sigma-cancel", "Keep the edits"),
        }
        self._b = b
        self.on_click(b["recolour"], "Recolour Selection", self.recolour_selection)
        self.on_click(b["merge"], "Merge Clusters", self.merge_selection)
        self.on_click(b["points"], "Select Points", self.toggle_point_mode)
        self.on_click(b["create"], "Create Cluster", self.create_cluster)
        self.on_click(b["include"], "Include -1", lambda: self.set_include_noise(True))
        self.on_click(b["exclude"], "Exclude -1", lambda: self.set_include_noise(False))
        self.on_click(b["clear"], "Clear Selection", self.clear_selection)
        self.on_click(b["reset"], "Reset", self.ask_reset)
        self.on_click(b["confirm"], "Confirm", self.confirm_reset)
        self.on_click(b["cancel"], "Cancel", self.cancel_reset)

        pal = palette(max(int(n_colours), 1))
        self.color_picker = widgets.ColorPicker(value=pal[0], description="Colour", concise=False,
                                                layout=widgets.Layout(width="230px"))
        self.color_picker.add_class("sigma-color")
        self.swatches = []
        for c in pal:
            sw = widgets.Button(description="", tooltip=c, layout=widgets.Layout(width="22px", height="22px",
                                                                                   padding="0"))
            sw.style.button_color = c
            sw.add_class("sigma-swatch")
            sw.on_click(lambda _b, c=c: setattr(self.color_picker, "value", c))
            self.swatches.append(sw)
        swatch_box = widgets.HBox(self.swatches, layout=widgets.Layout(flex_flow="row wrap", max_width="520px"))
        swatch_box.add_class("sigma-swatches")
        self.confirm_box = widgets.HBox([widgets.Label("Discard every edit?"), b["confirm"], b["cancel"]])
        self.confirm_box.add_class("sigma-confirm-box")
        self.confirm_box.layout.display = "none"
        self.legend = ClusterLegend(ps)
        controls = widgets.VBox([
            widgets.HTML("<b>Colour</b>"), swatch_box, self.color_picker, b["recolour"],
            widgets.HTML("<b>Clusters</b>"), b["merge"],
            widgets.HBox([b["points"], b["create"]]), widgets.HBox([b["include"], b["exclude"]]),
            b["clear"], b["reset"], self.confirm_box,
        ], layout=widgets.Layout(min_width="250px", max_width="270px"))
        controls.add_class("sigma-controls")
        self.set_body(widgets.HBox([self.scatter.widget, controls, self.legend]))
        self.follow(ps, self._on_change)
        self.say(f"Click a cluster, or box/lasso several. {_counts_text(ps)}.")

    # ------------------------------------------------------------------ drawing
    def _point_labels(self) -> np.ndarray:
        return np.asarray(self.ps.labels).ravel()[self.sample]

    def _codes(self):
        return color_codes(self._point_labels(), cluster_colors(self.ps))

    def redraw(self) -> None:
        """Recolour every point from the segmenter's labels and colours.

        In cluster mode the selected clusters keep their colour and the others fade (an
        alpha in the palette: only a few bytes go to the browser, whatever the number of
        points).
        """
        self._set_selected_clusters(self.selected_clusters)
        self._update_legend()

    def _set_selected_clusters(self, ids) -> None:
        self.selected_clusters = sorted(int(i) for i in ids)
        codes, pal = self._codes()
        if self.selected_clusters:
            ids_all = sorted(cluster_colors(self.ps))
            keep = set(self.selected_clusters)
            pal = [c if i in keep else c + FADED_ALPHA for i, c in zip(ids_all, pal, strict=True)]
        self.scatter.set_colors(codes, pal)

    def _update_legend(self) -> None:
        self.legend.update()

    def _on_change(self, changes) -> str:
        """An edit made elsewhere (another widget, code): redraw, drop vanished selections."""
        ids = set(np.asarray(self.ps.cluster_ids).tolist()) | {-1}
        gone = [i for i in self.selected_clusters if i not in ids]
        self.selected_clusters = [i for i in self.selected_clusters if i in ids]
        self.redraw()
        return (f"Updated after {changes_text(changes)}" + (f" (clusters {gone} no longer exist)" if gone else "")
                + f". {_counts_text(self.ps)}.")

    # ------------------------------------------------------------------ selection
    def _on_select(self, idx: np.ndarray) -> None:
        t0 = time.perf_counter()
        self.run("selection", self._select, idx)
        self.timings["select"] = time.perf_counter() - t0

    def _select(self, idx):
        if self.mode == "points":
            self.selected_clusters = []
            geom = self.scatter.geometries
            kind = {"poly": "lasso", "rect": "box"}.get(geom[0].get("type"), "") if geom else "click"
            return f"Selected {len(idx):,} displayed points ({kind}); press Create Cluster. {_counts_text(self.ps)}."
        # cluster mode: every click, box or lasso adds the clusters of its points; the
        # selection is shown by fading the other clusters, and the point selection is dropped
        if not len(idx) and not self.selected_clusters:
            self.scatter.clear_selection(notify=False)
            return None  # an empty selection while nothing is selected: keep the status
        lab = self._point_labels()
        ids = set(np.unique(lab[idx]).tolist()) if len(idx) else set()
        self._set_selected_clusters(set(self.selected_clusters) | ids)
        self.scatter.clear_selection(notify=False)
        ids = self.selected_clusters
        return f"Selected clusters {_ids_text(ids)}. {_counts_text(self.ps)}." if ids else "Nothing selected."

    def _on_geometry(self, _geom) -> None:
        if self.mode == "points" and len(self.scatter.selection):
            self.run("selection", self._select, self.scatter.selection)

    def _on_clear(self) -> None:
        self._set_selected_clusters([])
        self.say(f"Selection cleared. {_counts_text(self.ps)}.")

    def clear_selection(self) -> str:
        """"Clear Selection": deselect everything."""
        self.scatter.clear_selection(notify=False)
        self._set_selected_clusters([])
        return f"Selection cleared. {_counts_text(self.ps)}."

    # ------------------------------------------------------------------ actions
    def _timed_redraw(self, name: str) -> None:
        t0 = time.perf_counter()
        self.redraw()
        self.timings[name] = time.perf_counter() - t0

    def recolour_selection(self) -> str:
        """"Recolour Selection": ``ps.recolour(selected, colour)``."""
        ids = self.selected_clusters
        if not ids:
            raise ValueError("no cluster is selected; click a cluster or box/lasso several first")
        colour = self.color_picker.value
        with self.editing():
            self.ps.recolour(ids, colour)
        self.selected_clusters = []
        self._timed_redraw("recolour")
        return f"Recoloured clusters {_ids_text(ids)} to {colour}. {_counts_text(self.ps)}."

    def merge_selection(self) -> str:
        """"Merge Clusters": ``ps.merge_clusters(selected)`` (noise is never merged)."""
        ids = [i for i in self.selected_clusters if i != -1]
        if len(ids) < 2:
            raise ValueError(f"select at least two clusters other than -1 to merge (selected: {self.selected_clusters})")
        t0 = time.perf_counter()
        with self.editing():
            self.ps.merge_clusters(ids)
        self.timings["merge_call"] = time.perf_counter() - t0
        self.selected_clusters = []
        self._timed_redraw("merge")
        return f"Merged clusters {_ids_text(ids)} into {min(ids)}. {_counts_text(self.ps)}."

    def toggle_point_mode(self) -> str:
        """"Select Points": switch box/lasso between selecting clusters and selecting points."""
        self.mode = "clusters" if self.mode == "points" else "points"
        self.scatter.clear_selection(notify=False)
        self._set_selected_clusters([])
        self._b["points"].button_style = "warning" if self.mode == "points" else ""
        if self.mode == "points":
            return "Point selection: draw a box or lasso around the points of the new cluster, then Create Cluster."
        return f"Cluster selection: clicks, boxes and lassos select whole clusters. {_counts_text(self.ps)}."

    def set_include_noise(self, flag: bool) -> str:
        """"Include -1" / "Exclude -1": whether a new cluster takes noise pixels."""
        self.include_noise = bool(flag)
        self._b["include"].button_style = "info" if flag else ""
        self._b["exclude"].button_style = "" if flag else "info"
        return f"New clusters will {'include' if flag else 'exclude'} noise (-1) pixels."

    def create_cluster(self) -> str:
        """"Create Cluster": every pixel whose latent point lies in the drawn region.

        With a lasso or box geometry the segmenter takes *all* pixels inside the region
        (``create_cluster_from_latent_region``), not only the displayed subsample; without
        one (a click), the selected displayed points themselves are used.
        """
        if self.mode != "points":
            raise ValueError("press Select Points first, then draw a box or lasso around the points")
        idx = self.scatter.selection
        regions = [r for r in (geometry_to_region(g) for g in self.scatter.geometries) if r is not None]
        if not len(idx) and not regions:
            raise ValueError("no points are selected; draw a box or lasso around them first")
        before = set(np.asarray(self.ps.cluster_ids).tolist())
        t0 = time.perf_counter()
        if regions:
            with self.editing():
                self.ps.create_cluster_from_latent_region(regions[0], include_noise=self.include_noise)
            how = "all pixels inside the drawn region"
        else:
            with self.editing():
                self.ps.create_cluster(self.sample[idx], include_noise=self.include_noise)
            how = "the selected points" + ("" if len(self.sample) == len(self.ps.latent) else " (displayed sample only)")
        self.timings["create_call"] = time.perf_counter() - t0
        new = sorted(set(np.asarray(self.ps.cluster_ids).tolist()) - before)
        self.selected_clusters = []
        self._timed_redraw("create")
        self.mode = "clusters"
        self._b["points"].button_style = ""
        self.scatter.clear_selection(notify=False)
        n_new = int(np.asarray(self.ps.counts)[list(self.ps.cluster_ids).index(new[-1])]) if new else 0
        noise = "including" if self.include_noise else "excluding"
        return (f"Created cluster {new[-1] if new else '?'} from {how} ({n_new:,} px, {noise} -1). "
                f"{_counts_text(self.ps)}.")

    def ask_reset(self) -> str:
        """"Reset": ask for confirmation."""
        self.confirm_box.layout.display = "flex"
        return "Press Confirm to discard every edit and return to the original clustering."

    def cancel_reset(self) -> str:
        self.confirm_box.layout.display = "none"
        return f"Reset cancelled. {_counts_text(self.ps)}."

    def confirm_reset(self) -> str:
        """"Confirm": ``ps.reset()``."""
        if self.confirm_box.layout.display == "none":
            raise ValueError("press Reset first")
        self.confirm_box.layout.display = "none"
        with self.editing():
            self.ps.reset()
        self.scatter.clear_selection(notify=False)
        self.selected_clusters = []
        self._timed_redraw("reset")
        return f"Reset to the original clustering. {_counts_text(self.ps)}."


class LatentMapInspector(Panel):
    """Widget of :func:`sigma.gui.gui.check_latent_space`.

    Selecting latent points highlights their pixels on the map and shows the mean feature
    values of the selection as bars; box-selecting pixel centres on the map selects their
    latent points.

    Attributes
    ----------
    scatter : LatentScatter
    map : MapView or None
    bars : bokeh ColumnDataSource
        ``name``, ``value`` (mean feature of the selection), ``color``.
    bar_range : (float, float)
        The fixed y range of the bars: the range of the features over all pixels.
    selected_pixels : ndarray
        Flat pixel indices of the current selection.
    """

    def __init__(self, ps, show_map: bool = True, ratio_to_be_shown: float = 1.0,
                 alpha_cluster_map: float = 0.5, seed: int = 0):
        super().__init__()
        from ..plot.interactive import bar_figure
        from ._base import bokeh_widget

        self.add_class("sigma-check-latent")
        remember_segmenter(ps)
        self.ps = ps
        self.alpha = float(alpha_cluster_map)
        self.sample = shown_points(ps, ratio_to_be_shown, seed)
        self.selected_pixels = np.zeros(0, dtype=np.int64)
        cols = cluster_colors(ps)
        z = np.asarray(ps.latent)[self.sample]
        codes, pal = color_codes(np.asarray(ps.labels).ravel()[self.sample], cols)
        self.scatter = BokehLatentScatter(z[:, 0], z[:, 1] if z.shape[1] > 1 else np.zeros(len(z)), codes, pal,
                                          title=f"Latent space ({len(self.sample):,} points)", width=470,
                                          height=450)
        self.scatter.on_select(lambda idx: self.run("latent selection", self.select_latent, idx))
        self.scatter.on_clear(lambda: self.run("clear", self.select_latent, np.zeros(0, np.int64)))
        # the features the clustering was fitted on (the segmenter's snapshot), else the dataset's
        feats, names = getattr(ps, "features", None), list(getattr(ps, "feature_list", None) or [])
        if feats is None:
            feats, names = getattr(ps.dataset, "normalised_elemental_data", None), list(
                getattr(ps.dataset, "feature_list", []))
        if feats is None:
            raise ValueError("the dataset has no normalised_elemental_data; run dataset.normalisation(...) first")
        self._features = np.asarray(feats, dtype=np.float32).reshape(-1, np.shape(feats)[-1])
        names = names or [f"f{i}" for i in range(self._features.shape[1])]
        lo, hi = float(np.nanmin(self._features)), float(np.nanmax(self._features))
        pad = 0.05 * (hi - lo or 1.0)
        self.bar_range = (min(lo - pad, 0.0), hi + pad)
        self.bar_fig, self.bars = bar_figure(names, y_range=self.bar_range, width=470, height=260,
                                             y_label=f"mean {feature_units(ps.dataset)}")
        self.bar_widget = bokeh_widget(self.bar_fig, "sigma-bars")
        self.map = None
        right = []
        if show_map:
            nav = np.asarray(getattr(ps.dataset, "analysis_nav_img", np.zeros(np.shape(ps.labels))))
            self.map = BokehMapView(nav, label_rgba(ps.labels, cols, self.alpha, noise_alpha=0.0),
                                    title="Navigation image and clusters", pixel_size=pixel_size(ps),
                                    width=470)
            self.map.on_select(lambda pix: self.run("map selection", self.select_pixels, pix))
            cap = widgets.HTML(calibration_caption(ps))
            cap.add_class("sigma-caption")
            cap.add_class("sigma-calibration")
            right += [self.map.widget, cap]
        right.append(self.bar_widget)
        self.legend = ClusterLegend(ps)
        self.set_body(widgets.HBox([self.scatter.widget, widgets.VBox(right), self.legend]))
        self.follow(ps, self._on_change)
        self.say("Select points in the latent space (or a box on the map) to see where they are "
                 f"and their mean features. {_counts_text(ps)}.")

    def _on_change(self, changes) -> str:
        """The segmenter changed (e.g. a merge in ``interactive_latent_plot``): new colours on
        the scatter and the map, legend and counts; the selection stays."""
        cols = cluster_colors(self.ps)
        codes, pal = color_codes(np.asarray(self.ps.labels).ravel()[self.sample], cols)
        self.scatter.set_colors(codes, pal)
        if self.map is not None:
            self.map.set_overlay(label_rgba(self.ps.labels, cols, self.alpha, noise_alpha=0.0))
        self.legend.update()
        if len(self.selected_pixels):
            self._show(self.selected_pixels)
        return f"Updated after {changes_text(changes)}: {_counts_text(self.ps)}."

    def _mean_features(self, pix: np.ndarray) -> np.ndarray:
        if len(pix) == 0:
            return np.zeros(self._features.shape[1])
        return self._features[pix].mean(axis=0)

    def _show(self, pix: np.ndarray) -> None:
        self.selected_pixels = pix
        vals = self._mean_features(pix)
        labs = np.unique(np.asarray(self.ps.labels).ravel()[pix]) if len(pix) else []
        colour = cluster_colors(self.ps)[int(labs[0])] if len(labs) == 1 else "#555555"
        self.bars.data = {"name": list(self.bars.data["name"]), "value": vals.astype(float),
                          "color": [colour] * len(vals)}
        if self.map is not None:
            h, w = np.shape(self.ps.labels)
            mask = np.zeros(h * w, dtype=np.int64) - 1
            mask[pix] = 0
            self.map.set_highlight(label_rgba(mask.reshape(h, w), {-1: "#000000", 0: HIGHLIGHT_COLOR},
                                              alpha=0.85, noise_alpha=0.0))

    def select_latent(self, idx) -> str:
        """Latent points ``idx`` (scatter indices) → pixels highlighted, bars updated."""
        pix = self.sample[np.asarray(idx, dtype=np.int64)]
        self._show(pix)
        if self.map is not None:
            self.map.set_selection(pix, notify=False)
        return self._summary(pix)

    def select_pixels(self, pix) -> str:
        """Pixels ``pix`` (flat indices) → their latent points selected, bars updated."""
        pix = np.asarray(pix, dtype=np.int64)
        idx = np.flatnonzero(np.isin(self.sample, pix))
        self.scatter.set_selection(idx, notify=False)
        self._show(pix)
        return self._summary(pix) + (f" {len(idx):,} of them are displayed in the latent space."
                                     if len(idx) != len(pix) else "")

    def _summary(self, pix) -> str:
        if not len(pix):
            return f"Selection cleared. {_counts_text(self.ps)}."
        labs, cnt = np.unique(np.asarray(self.ps.labels).ravel()[pix], return_counts=True)
        top = ", ".join(f"{int(a)}: {int(c):,}" for a, c in sorted(zip(labs, cnt, strict=True), key=lambda t: -t[1])[:5])
        return f"Selected {len(pix):,} px (clusters {top}). {_counts_text(self.ps)}."
