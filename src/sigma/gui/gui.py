"""The tutorial's GUI functions (``from sigma.gui import gui``): thin wiring of widgets.

Every function returns one top-level widget (shown when it is the cell's last expression)
whose attributes expose its parts for scripts and tests: ``.status`` (a Label, CSS class
``sigma-status``, saying what the last action did and the resulting number of clusters),
``.buttons`` (by their tutorial text), ``.progress``, and the views. Figures come from
:mod:`sigma.plot`; all edits go through the PixelSegmenter's public methods and every view
takes cluster colours from the segmenter, so they agree everywhere.

Interactive views (latent scatter, linked map) are Bokeh figures in jupyter_bokeh widgets,
loaded from the installed package (no CDN); static figures are matplotlib PNGs.
"""

from __future__ import annotations

import logging

import ipywidgets as widgets
import numpy as np

from .. import plot
from ._base import Panel, button, load_bokeh, png_widget, set_png
from ._latent import LatentEditor, LatentMapInspector

log = logging.getLogger(__name__)

__all__ = [
    "check_latent_space",
    "interactive_latent_plot",
    "load_bokeh",
    "show_abundance_map",
    "show_cluster_distribution",
    "show_projection",
    "show_unmixed_weights_and_components",
    "show_unmixed_weights_and_compoments",
    "view_clusters_sum_spectra",
    "view_dataset",
    "view_intensity_maps",
    "view_latent_space",
    "view_phase_map",
    "view_pixel_distributions",
]


def _has_spectra(ds) -> bool:
    return getattr(ds, "spectra", None) is not None and hasattr(ds, "energy_axis_of")


def _is_binned(ds) -> bool:
    return getattr(ds, "spectra_bin", None) is not None or getattr(ds, "chemical_maps_bin", None) is not None


def _parse_features(text: str) -> list[str]:
    """``"Fe_Ka, Si_Ka"`` or ``"['Fe_Ka', 'Si_Ka']"`` → ``['Fe_Ka', 'Si_Ka']``.

    Examples
    --------
    >>> _parse_features("['Fe_Ka', 'Si_Ka']"), _parse_features("Fe_Ka Si_Ka,")
    (['Fe_Ka', 'Si_Ka'], ['Fe_Ka', 'Si_Ka'])
    """
    for ch in "[]()'\"":
        text = text.replace(ch, " ")
    return [t for t in text.replace(",", " ").split() if t]


# ----------------------------------------------------------------------------- dataset
class DatasetViewer(Panel):
    """Widget of :func:`view_dataset`.

    Attributes
    ----------
    energy, width : ipywidgets.FloatText
        "Energy (keV)" (class ``sigma-energy``) and the search window (``sigma-energy-width``).
    lines : ipywidgets.HTML
        X-ray lines near the energy (class ``sigma-lines``); ``line_hits`` holds them as tuples.
    features : ipywidgets.Text
        "Feature List" (class ``sigma-features``), applied with the "Set" button
        (``sigma-set-features``).
    tabs : ipywidgets.Tab
        "Navigation Signal", "Sum Spectrum", "Elemental Maps (raw)" and, once binned,
        "Elemental maps (binned)" (spectrum datasets); image datasets have no spectrum tab.
    images : dict
        The ``Image`` widget of each tab by title.
    """

    def __init__(self, dataset):
        super().__init__()
        self.add_class("sigma-view-dataset")
        self.dataset = dataset
        self.line_hits: list = []
        self.energy = widgets.FloatText(value=0.0, description="Energy (keV)", step=0.01,
                                        style={"description_width": "initial"})
        self.energy.add_class("sigma-energy")
        self.width = widgets.BoundedFloatText(value=0.2, min=0.001, max=5.0, step=0.05, description="± window (keV)",
                                              style={"description_width": "initial"})
        self.width.add_class("sigma-energy-width")
        self.lines = widgets.HTML()
        self.lines.add_class("sigma-lines")
        self.features = widgets.Text(value=", ".join(dataset.feature_list), description="Feature List",
                                     continuous_update=False, layout=widgets.Layout(flex="1 1 auto", width="auto"),
                                     style={"description_width": "initial"})
        self.features.add_class("sigma-features")
        set_btn = button("Set", "sigma-set-features", "Use these features")
        set_btn.layout.min_width = "60px"  # never squeezed to "S…" by the full-width box
        self.on_click(set_btn, "Set feature list", self.apply_features)
        self.energy.observe(lambda _c: self.run("Energy search", self.search_energy), names="value")
        self.width.observe(lambda _c: self.run("Energy search", self.search_energy), names="value")
        self.tabs = widgets.Tab()
        self.tabs.add_class("sigma-tabs")
        self.images: dict[str, widgets.Image] = {}
        self.set_body(widgets.HBox([self.energy, self.width]), self.lines,
                      widgets.HBox([self.features, set_btn], layout=widgets.Layout(width="100%")), self.tabs)
        self.run("view dataset", self.refresh)

    def search_energy(self) -> str:
        """List the X-ray lines within the window around the energy."""
        e, w = float(self.energy.value), float(self.width.value)
        finder = getattr(self.dataset, "lines_near_energy", None)
        if finder is None:
            from ..xray import lines_near_energy as finder
        self.line_hits = list(finder(e, w))
        rows = "".join(f"<tr><td>{n}</td><td>{en:.4f} keV</td><td>{wt:.2f}</td></tr>" for n, en, wt in self.line_hits)
        self.lines.value = ("<table><tr><th>line</th><th>energy</th><th>weight</th></tr>" + rows + "</table>"
                            if rows else f"<i>no X-ray line within ±{w / 2:g} keV of {e:g} keV</i>")
        return f"{len(self.line_hits)} X-ray lines within ±{w / 2:g} keV of {e:g} keV."

    def apply_features(self) -> str:
        """Set the dataset's feature list from the text box, then redraw."""
        feats = _parse_features(self.features.value)
        self.dataset.set_feature_list(feats)
        self.features.value = ", ".join(self.dataset.feature_list)
        self.refresh()
        return f"Feature list set: {len(self.dataset.feature_list)} features ({', '.join(self.dataset.feature_list)})."

    def refresh(self) -> str:
        """Rebuild every tab from the dataset."""
        ds = self.dataset
        feats = list(ds.feature_list)
        panels: list[tuple[str, object]] = []
        steps = 1 + _has_spectra(ds) + 1 + _is_binned(ds)
        with self.busy(steps, "drawing") as step:
            panels.append(("Navigation Signal", plot.plot_nav_image(ds, binned=False).figure))
            step("navigation")
            if _has_spectra(ds):
                fig = plot.new_figure((9, 3.6), layout="constrained")
                plot.plot_sum_spectrum(ds, ax=fig.add_subplot())
                panels.append(("Sum Spectrum", fig))
                step("sum spectrum")
            panels.append(("Elemental Maps (raw)",
                           plot.plot_feature_maps(ds.get_feature_maps(feats, raw_data=True), feats)))
            step("raw maps")
            if _is_binned(ds):
                panels.append(("Elemental maps (binned)", plot.plot_feature_maps(ds.get_feature_maps(feats), feats)))
                step("binned maps")
        self.images = {title: png_widget(fig, "sigma-tab-figure") for title, fig in panels}
        self.tabs.children = list(self.images.values())
        self.tabs.titles = tuple(self.images)
        return f"Showing {len(feats)} features in {len(self.images)} tabs."


def view_dataset(dataset):
    """Navigation image, sum spectrum and element maps of a dataset, with line search.

    Shows an "Energy (keV)" box listing the X-ray lines near an energy, a "Feature List"
    box that sets the dataset's features, and tabs "Navigation Signal", "Sum Spectrum"
    (feature lines marked at their tabulated energies on the real energy axis),
    "Elemental Maps (raw)" and, after binning, "Elemental maps (binned)".

    Parameters
    ----------
    dataset : SEMDataset, TEMDataset or ImageDataset

    Returns
    -------
    DatasetViewer

    Examples
    --------
    >>> from sigma.synthetic import tiny_dataset
    >>> w = view_dataset(tiny_dataset())
    >>> w.tabs.titles
    ('Navigation Signal', 'Sum Spectrum', 'Elemental Maps (raw)')
    """
    return DatasetViewer(dataset)


def view_pixel_distributions(dataset, norm_list=(), cmap: str = "viridis"):
    """Histograms of every feature, raw and after each cumulative normalisation step.

    Parameters
    ----------
    dataset : SEMDataset, TEMDataset or ImageDataset
    norm_list : list of callables
        E.g. ``[norm.neighbour_averaging, norm.zscore, norm.softmax]``.
    cmap : str
        Matplotlib colour map colouring the bars by value.

    Returns
    -------
    Panel
        ``.image`` holds the figure.

    Examples
    --------
    >>> from sigma.synthetic import tiny_dataset
    >>> from sigma.preprocessing import normalisation as norm
    >>> sem = tiny_dataset()
    >>> w = view_pixel_distributions(sem, [norm.zscore])
    >>> w.status.value
    '3 features × 2 stages.'
    >>> w  # doctest: +SKIP
    """
    p = Panel()
    p.add_class("sigma-pixel-distributions")
    feats = list(dataset.feature_list)
    with p.busy(1, "normalising"):
        fig = plot.plot_pixel_distributions(dataset.get_feature_maps(feats), feats, norm_list, cmap=cmap)
    p.image = png_widget(fig)
    p.set_body(p.image)
    p.say(f"{len(feats)} features × {len(list(norm_list)) + 1} stages.")
    return p


def view_intensity_maps(spectra, element_list, cmap: str = "viridis"):
    """Grid of maps of an ``(H, W, F)`` array, one per name of ``element_list``.

    Returns
    -------
    Panel
        ``.image`` holds the figure.

    Examples
    --------
    >>> import numpy as np
    >>> maps = np.random.default_rng(0).random((8, 10, 2))
    >>> w = view_intensity_maps(maps, ["Fe_Ka", "Si_Ka"])
    >>> w.status.value
    '2 maps of 8×10 px.'
    >>> w  # doctest: +SKIP
    """
    p = Panel()
    p.add_class("sigma-intensity-maps")
    p.image = png_widget(plot.plot_intensity_maps(spectra, element_list, cmap=cmap))
    p.set_body(p.image)
    p.say(f"{len(element_list)} maps of {np.shape(spectra)[0]}×{np.shape(spectra)[1]} px.")
    return p


# ----------------------------------------------------------------------------- latent space
def show_projection(latent):
    """Density plot of a latent space (before clustering).

    Returns
    -------
    Panel
        ``.image`` holds the figure.

    Examples
    --------
    >>> import numpy as np
    >>> latent = np.random.default_rng(0).normal(size=(500, 2))
    >>> w = show_projection(latent)
    >>> w.status.value
    '500 latent points.'
    >>> w  # doctest: +SKIP
    """
    p = Panel()
    p.add_class("sigma-projection")
    p.image = png_widget(plot.plot_projection(latent).figure)
    p.set_body(p.image)
    p.say(f"{len(latent):,} latent points.")
    return p


def view_latent_space(ps, color: bool = True):
    """Latent space coloured by cluster (grey when ``color=False``), GMM Gaussians as ellipses.

    A cluster Dropdown, a ColorPicker and "Recolour" change a cluster's colour in the
    segmenter (so in every view).

    Returns
    -------
    Panel
        ``.image``, ``.cluster`` (Dropdown, ``sigma-cluster``), ``.color_picker``
        (``sigma-color``), ``.buttons['Recolour']`` (``sigma-recolour``).

    Examples
    --------
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> w = view_latent_space(ps)
    >>> w.cluster.options, w.status.value
    ((0, 1, 2), '3 clusters.')
    >>> w  # doctest: +SKIP
    """
    p = Panel()
    p.add_class("sigma-view-latent")

    def draw():
        ax = plot.plot_latent(ps, color=color)
        return ax.figure

    p.image = png_widget(draw())
    ids = [int(i) for i in plot.cluster_colors(ps)]
    p.cluster = widgets.Dropdown(options=ids, description="Cluster")
    p.cluster.add_class("sigma-cluster")
    p.color_picker = widgets.ColorPicker(value=plot.cluster_colors(ps)[ids[0]] if ids else "#1f77b4",
                                         description="Colour")
    p.color_picker.add_class("sigma-color")
    p.cluster.observe(lambda c: setattr(p.color_picker, "value", plot.cluster_colors(ps).get(c["new"], "#000000")),
                      names="value")
    rec = button("Recolour", "sigma-recolour", "Give the chosen cluster this colour")

    def recolour():
        ps.recolour([p.cluster.value], p.color_picker.value)
        set_png(p.image, draw())
        return f"Recoloured cluster {p.cluster.value} to {p.color_picker.value}. {len(ps.cluster_ids)} clusters."

    p.on_click(rec, "Recolour", recolour)
    controls = [p.cluster, p.color_picker, rec] if color else []
    p.set_body(p.image, widgets.HBox(controls))
    p.say(f"{len(ps.cluster_ids)} clusters" + ("; Gaussians drawn as 2σ ellipses." if plot.gaussian_ellipses(
        getattr(ps, "model", None)) else "."))
    return p


def interactive_latent_plot(ps, ratio_to_be_shown: float = 1.0, n_colours: int = 30):
    """Edit clusters in the latent space: recolour, merge, create, reset.

    Click a point to select its cluster, or box/lasso several; double-click clears. Buttons:
    "Recolour Selection" (palette of ``n_colours`` swatches or the custom ColorPicker),
    "Merge Clusters", "Select Points" (box/lasso now select points) then "Create Cluster"
    (every pixel whose latent point is inside the drawn region, not only the displayed
    ones) with "Include -1"/"Exclude -1", "Clear Selection", "Reset" then "Confirm".

    Parameters
    ----------
    ps : PixelSegmenter
    ratio_to_be_shown : float
        Fraction of the points drawn (sampled without replacement).
    n_colours : int
        Number of palette swatches.

    Returns
    -------
    LatentEditor

    Examples
    --------
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> w = interactive_latent_plot(ps, ratio_to_be_shown=0.5)
    >>> w.status.value
    'Click a cluster, or box/lasso several. 3 clusters.'
    >>> "Merge Clusters" in w.buttons
    True
    >>> w  # doctest: +SKIP
    """
    return LatentEditor(ps, ratio_to_be_shown=ratio_to_be_shown, n_colours=n_colours)


def check_latent_space(ps, show_map: bool = True, ratio_to_be_shown: float = 1.0, alpha_cluster_map: float = 0.5):
    """Latent space linked with the map: selections highlight pixels and show mean features.

    Returns
    -------
    LatentMapInspector

    Examples
    --------
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> w = check_latent_space(ps, ratio_to_be_shown=0.5)
    >>> type(w).__name__
    'LatentMapInspector'
    >>> w  # doctest: +SKIP
    """
    return LatentMapInspector(ps, show_map=show_map, ratio_to_be_shown=ratio_to_be_shown,
                              alpha_cluster_map=alpha_cluster_map)


# ----------------------------------------------------------------------------- clusters
def view_phase_map(ps, alpha_cluster_map: float = 0.5):
    """All clusters in their colours over the navigation image.

    Returns
    -------
    Panel
        ``.image``, ``.alpha`` (FloatSlider, ``sigma-alpha``), ``.buttons['Refresh']``.

    Examples
    --------
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> w = view_phase_map(ps, alpha_cluster_map=0.7)
    >>> w.status.value, w.alpha.value
    ('Phase map: 3 clusters.', 0.7)
    >>> w  # doctest: +SKIP
    """
    p = Panel()
    p.add_class("sigma-phase-map")
    p.alpha = widgets.FloatSlider(value=float(alpha_cluster_map), min=0, max=1, step=0.05, description="Opacity",
                                  continuous_update=False)
    p.alpha.add_class("sigma-alpha")

    def draw():
        return plot.plot_phase_map(ps, alpha=p.alpha.value).figure

    p.image = png_widget(draw())

    def redraw():
        set_png(p.image, draw())
        return f"Phase map: {len(ps.cluster_ids)} clusters, opacity {p.alpha.value:.2f}."

    p.alpha.observe(lambda _c: p.run("opacity", redraw), names="value")
    p.on_click(button("Refresh", "sigma-refresh", "Redraw with the segmenter's current clusters and colours"),
               "Refresh", redraw)
    p.set_body(p.image, widgets.HBox([p.alpha, p.buttons["Refresh"]]))
    p.say(f"Phase map: {len(ps.cluster_ids)} clusters.")
    return p


def show_cluster_distribution(ps, max_clusters: int = 40):
    """Per cluster: where its pixels are, its mean features and its mean spectrum.

    Returns
    -------
    Panel
        ``.image`` holds the figure.

    Examples
    --------
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> w = show_cluster_distribution(ps)
    >>> w.status.value
    '3 clusters.'
    >>> w  # doctest: +SKIP
    """
    p = Panel()
    p.add_class("sigma-cluster-distribution")
    with p.busy(1, "cluster spectra"):
        fig = plot.plot_cluster_distribution(ps, max_clusters=max_clusters)
    p.image = png_widget(fig)
    p.set_body(p.image)
    n = len(ps.cluster_ids)
    p.say(f"{n} clusters" + (f" (first {max_clusters} shown)" if n > max_clusters else "") + ".")
    return p


def view_clusters_sum_spectra(ps, normalisation: bool = True, spectra_range=None):
    """Pick clusters: the map shows where they are, the plot their spectra.

    Parameters
    ----------
    normalisation : bool
        Scale each spectrum to a maximum of 1.
    spectra_range : (float, float), optional
        Energy range in keV (default: the data's whole axis).

    Returns
    -------
    Panel
        ``.clusters`` (SelectMultiple, ``sigma-cluster-select``), ``.map_image``,
        ``.spectra_image``.

    Examples
    --------
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> w = view_clusters_sum_spectra(ps, spectra_range=(0.5, 8.0))
    >>> w.clusters.options, w.status.value
    ((0, 1, 2), 'Showing clusters [0] of 3.')
    >>> w.clusters.value = (0, 2)
    >>> w  # doctest: +SKIP
    """
    p = Panel()
    p.add_class("sigma-cluster-spectra")
    ids = [int(i) for i in ps.cluster_ids]
    p.clusters = widgets.SelectMultiple(options=ids, value=ids[:1], description="Clusters", rows=min(10, len(ids)))
    p.clusters.add_class("sigma-cluster-select")

    def figs():
        sel = list(p.clusters.value)
        m = plot.plot_phase_map(ps, alpha=0.8, highlight=sel).figure
        s = plot.new_figure((8, 3.6), layout="constrained")
        plot.plot_cluster_spectra(ps, sel, normalisation=normalisation, spectra_range=spectra_range,
                                  ax=s.add_subplot())
        return m, s

    with p.busy(1, "cluster spectra"):
        m, s = figs()
    p.map_image, p.spectra_image = png_widget(m), png_widget(s)

    def redraw():
        m, s = figs()
        set_png(p.map_image, m)
        set_png(p.spectra_image, s)
        return f"Showing clusters {list(p.clusters.value)} of {len(ps.cluster_ids)}."

    p.clusters.observe(lambda _c: p.run("cluster selection", redraw), names="value")
    p.set_body(widgets.HBox([p.clusters, p.map_image]), p.spectra_image)
    p.say(f"Showing clusters {list(p.clusters.value)} of {len(ids)}.")
    return p


# ----------------------------------------------------------------------------- unmixing
def _weight_ids(ps, weights):
    ids = getattr(ps, "nmf_cluster_ids", None)
    n = np.shape(weights)[0]
    if ids is not None and len(ids) == n:
        return [int(i) for i in ids]
    ids = [int(i) for i in ps.cluster_ids]
    return ids if len(ids) == n else list(range(n))


def show_unmixed_weights_and_components(ps, weights, components):
    """NMF weights per cluster and the end-member spectra, all or one at a time.

    Returns
    -------
    Panel
        ``.component`` (Dropdown "All"/0/1/…, ``sigma-component``), ``.image``.

    ``show_unmixed_weights_and_compoments`` (the tutorial's spelling) is the same function.

    Examples
    --------
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> weights, components = ps.get_unmixed_spectra_profile(n_components=2)
    >>> w = show_unmixed_weights_and_components(ps, weights, components)
    >>> w.status.value
    '2 components unmixing 3 clusters.'
    >>> w.component.value = 1
    >>> w  # doctest: +SKIP
    """
    p = Panel()
    p.add_class("sigma-nmf")
    k = int(np.shape(components)[0])
    energy = getattr(ps, "energy_axis", None)
    if energy is None or len(energy) != np.shape(components)[1]:
        energy = None
    ids = _weight_ids(ps, weights)

    def draw():
        return plot.plot_nmf(weights, components, energy=energy, cluster_ids=ids,
                             cluster_colours=plot.cluster_colors(ps), component=p.component.value)

    def message():
        return f"Showing {'all components' if p.component.value is None else f'component {p.component.value}'}."

    _component_view(p, k, draw, message, with_all=True)
    p.say(f"{k} components unmixing {len(ids)} clusters.")
    return p


def _component_view(p, k: int, draw, message, *, with_all: bool) -> None:
    """Give panel ``p`` a component Dropdown (``sigma-component``) and an image that ``draw()``
    redraws on every choice; ``message()`` is the status after a redraw."""
    options = ([("All", None)] if with_all else []) + [(f"component {j}", j) for j in range(k)]
    p.component = widgets.Dropdown(options=options, value=None if with_all else 0,
                                   description="Component")
    p.component.add_class("sigma-component")
    p.image = png_widget(draw())

    def redraw():
        set_png(p.image, draw())
        return message()

    p.component.observe(lambda _c: p.run("component", redraw), names="value")
    p.set_body(p.component, p.image)


#: The tutorial's spelling.
show_unmixed_weights_and_compoments = show_unmixed_weights_and_components


def show_abundance_map(ps, weights, components):
    """Per-pixel abundance of an NMF component (chosen from a Dropdown).

    Returns
    -------
    Panel
        ``.component`` (Dropdown, ``sigma-component``), ``.image``, ``.abundance``
        (``(H, W, k)`` from ``ps.abundance_maps``).

    Examples
    --------
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> weights, components = ps.get_unmixed_spectra_profile(n_components=2)
    >>> w = show_abundance_map(ps, weights, components)
    >>> w.abundance.shape, w.status.value
    ((8, 8, 2), 'Abundance of component 0 of 2.')
    >>> w  # doctest: +SKIP
    """
    p = Panel()
    p.add_class("sigma-abundance")
    k = int(np.shape(components)[0])
    with p.busy(1, "abundances"):
        p.abundance = np.asarray(ps.abundance_maps(components, progress=False))

    def draw():
        return plot.plot_abundance_map(p.abundance, p.component.value).figure

    _component_view(p, k, draw, lambda: f"Abundance of component {p.component.value} of {k}.",
                    with_all=False)
    p.say(f"Abundance of component 0 of {k}.")
    return p
