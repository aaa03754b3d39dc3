"""NMF views: weights per cluster with the end-member spectra, and per-pixel abundance maps.

Both follow the segmenter: a recolour redraws them; an edit of the clusters marks the weights
stale (they belong to the clusters at the time of the NMF; abundances do not depend on the
clusters and stay valid); a new NMF marks both stale. Each says so in its status line.
"""

from __future__ import annotations

import logging

import ipywidgets as widgets
import numpy as np

from .. import plot
from ._base import Panel, changes_text, png_widget, set_png
from ._dataset import remember_segmenter
from ._legend import calibration_caption

log = logging.getLogger(__name__)

#: The value of the "All" choice of the component Dropdown.
ALL = "all"


def _weight_ids(ps, weights):
    ids = getattr(ps, "nmf_cluster_ids", None)
    n = np.shape(weights)[0]
    if ids is not None and len(ids) == n:
        return [int(i) for i in ids]
    ids = [int(i) for i in ps.cluster_ids]
    return ids if len(ids) == n else list(range(n))


def _component_view(p, k: int, draw, message, *, with_all: bool) -> None:
    """Give panel ``p`` a component Dropdown (``sigma-component``; "All" is the string
    :data:`ALL`, so the Dropdown shows it) and an image that ``draw()`` redraws on every
    choice; ``message()`` is the status after a redraw."""
    options = ([("All", ALL)] if with_all else []) + [(f"component {j}", j) for j in range(k)]
    p.component = widgets.Dropdown(options=options, value=ALL if with_all else 0, description="Component")
    p.component.add_class("sigma-component")
    p.image = png_widget(draw())

    def redraw():
        set_png(p.image, draw())
        return message()

    p.redraw = redraw
    p.component.observe(lambda _c: p.run("component", redraw), names="value")


def _stale_text(p, changes, what: str) -> str | None:
    ops = [c for c in changes if c.what == "nmf" or (what == "weights" and c.what == "labels")]
    if not ops:
        return None
    if any(c.what == "nmf" for c in ops):
        p.stale = "a newer NMF was computed"
    else:
        p.stale = f"the clusters changed ({changes_text(ops)})"
    return (f"Stale: {p.stale} after these {what} were computed; they are shown unchanged. Run the NMF "
            "(get_unmixed_spectra_profile) and this cell again for current ones.")


def nmf_panel(ps, weights, components) -> Panel:
    """Widget of :func:`sigma.gui.gui.show_unmixed_weights_and_components`."""
    remember_segmenter(ps)
    p = Panel()
    p.add_class("sigma-nmf")
    p.stale = None
    k = int(np.shape(components)[0])
    energy = getattr(ps, "energy_axis", None)
    if energy is None or len(energy) != np.shape(components)[1]:
        energy = None
    ids = _weight_ids(ps, weights)
    erange = None
    if energy is not None:
        lines = list(plot.sum_spectrum_lines(ps.dataset).values())
        beam = getattr(getattr(ps.dataset, "info", None), "beam_energy", None)
        erange = plot.useful_energy_range(energy, np.asarray(components).sum(0), lines, beam)

    def draw():
        comp = None if p.component.value == ALL else p.component.value
        return plot.plot_nmf(weights, components, energy=energy, cluster_ids=ids,
                             cluster_colours=plot.cluster_colors(ps), component=comp, energy_range=erange)

    def message():
        shown = "all components" if p.component.value == ALL else f"component {p.component.value}"
        return Warning(f"Showing {shown}. {p.stale} since this NMF.") if p.stale else f"Showing {shown}."

    _component_view(p, k, draw, message, with_all=True)

    def on_change(changes):
        if any(c.what == "colors" for c in changes):
            p.redraw()
        stale = _stale_text(p, changes, "weights")
        return Warning(stale) if stale else f"Redrawn after {changes_text(changes)} (colours)."

    p.follow(ps, on_change, kinds=("labels", "colors", "nmf"))
    p.set_body(p.component, p.image)
    p.say(f"{k} components unmixing {len(ids)} clusters.")
    return p


def abundance_panel(ps, weights, components) -> Panel:
    """Widget of :func:`sigma.gui.gui.show_abundance_map`."""
    remember_segmenter(ps)
    p = Panel()
    p.add_class("sigma-abundance")
    p.stale = None
    k = int(np.shape(components)[0])
    with p.busy(1, "abundances"):
        p.abundance = np.asarray(ps.abundance_maps(components, progress=False))
    p.fractions = plot.abundance_fractions(p.abundance, components)
    p.quantity = widgets.ToggleButtons(options=[("fraction of counts", "fraction"), ("NNLS weight", "weight")],
                                       value="fraction", style={"button_width": "auto"},
                                       tooltips=["fraction of each pixel's modelled counts (0-1)",
                                                 "NNLS weight: multiples of the component spectrum"])
    p.quantity.add_class("sigma-abundance-quantity")

    def draw():
        frac = p.quantity.value == "fraction"
        return plot.plot_abundance_map(p.fractions if frac else p.abundance, p.component.value,
                                       units=plot.ABUNDANCE_UNITS[p.quantity.value], calibration=ps,
                                       vmax=1.0 if frac else None).figure

    def message():
        j = p.component.value
        what = ("the fraction of each pixel's modelled counts it explains (0–1)" if p.quantity.value == "fraction"
                else "its NNLS weight per pixel (1 = the counts of the component spectrum)")
        text = f"Abundance of component {j} of {k}: {what}."
        return Warning(f"{text} {p.stale} since these abundances.") if p.stale else text

    _component_view(p, k, draw, message, with_all=False)
    p.quantity.observe(lambda _c: p.run("quantity", p.redraw), names="value")

    def on_change(changes):
        stale = _stale_text(p, changes, "abundances")
        if stale:
            return Warning(stale)
        return (f"Unchanged after {changes_text(changes)}: abundances are fitted per pixel from the "
                "component spectra and do not depend on the clusters.")

    p.follow(ps, on_change, kinds=("labels", "nmf"))
    cap = widgets.HTML(calibration_caption(ps, np.shape(p.abundance)[1]))
    cap.add_class("sigma-caption")
    cap.add_class("sigma-calibration")
    p.set_body(widgets.HBox([p.component, widgets.Label("Show", layout=widgets.Layout(margin="0 4px 0 16px")),
                             p.quantity]), p.image, cap)
    p.say(f"Abundance of component 0 of {k}.")
    return p
