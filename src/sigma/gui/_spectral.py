"""The "Whole spectrum (PCA)" tab of ``view_dataset``: Poisson-PCA score maps of every
channel, their explained variance (scree) and components over energy, and how to use the scores
for the latent space (``dataset.normalised_features``).

The decomposition is the dataset's (:meth:`~sigma.datasets.SpectrumDataset.spectral_decomposition`,
kept until the next pre-processing step); it is computed when the tab is first opened, since
on a full map it reads the whole cube once.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from .. import plot
from ._base import button, png_widget, set_png
from ._legend import calibration_caption

#: Title of the tab.
TITLE = "Whole spectrum (PCA)"

_USE = (
    "Every channel counts here, not only the line windows: the counts on the analysis grid are summed "
    "over equal-count energy bands and decomposed as HyperSpy's <code>decomposition("
    "normalize_poissonian_noise=True)</code> does. To cluster on these scores, build the latent space "
    "from <code>dataset.normalised_features(\"both\", n_components={n})</code> (line maps and scores "
    "side by side) or <code>\"spectrum\"</code> (scores only) instead of "
    "<code>dataset.normalised_elemental_data</code>; both go through the dataset's normalisation "
    "chain, as <code>sigma run</code> does with <code>features.source</code>."
)


def has_spectral_features(ds) -> bool:
    """Whether ``ds`` offers whole-spectrum features (a spectrum dataset)."""
    return getattr(ds, "spectra", None) is not None and hasattr(ds, "spectral_decomposition")


class SpectralTab(widgets.VBox):
    """Content of the tab; ``panel`` (the viewer) shows progress, results and errors.

    Attributes
    ----------
    n_components : ipywidgets.BoundedIntText
        "Components" (class ``sigma-pca-components``); a change recomputes.
    summary_image, maps_image : ipywidgets.Image or None
        Scree and components over energy (``sigma-pca-summary``); score maps with labelled
        colour bars and scale bars (``sigma-pca-maps``). None until computed.
    decomposition : SpectralDecomposition or None
        What is shown.
    """

    def __init__(self, panel, dataset, n_components: int = 8):
        self.panel = panel
        self.dataset = dataset
        self.decomposition = None
        self.n_components = widgets.BoundedIntText(value=int(n_components), min=1, max=32, description="Components",
                                                   style={"description_width": "initial"},
                                                   layout=widgets.Layout(width="170px"))
        self.n_components.add_class("sigma-pca-components")
        self.compute_button = button("Compute", "sigma-pca-compute", "Poisson-PCA of the whole spectrum")
        self.compute_button.on_click(lambda _b: self.panel.run("Whole-spectrum PCA", self.compute))
        self.n_components.observe(lambda _c: self.panel.run("Whole-spectrum PCA", self.compute)
                                  if self.decomposition is not None else None, names="value")
        self.info = widgets.HTML(_USE.format(n=self.n_components.value)
                                 + "<br><i>Computed when this tab is opened, or press Compute.</i>")
        self.info.add_class("sigma-caption")
        self.info.add_class("sigma-pca-info")
        self.summary_image = self.maps_image = None
        self.caption = widgets.HTML()
        self.caption.add_class("sigma-caption")
        self.caption.add_class("sigma-calibration")
        self._controls = widgets.HBox([self.n_components, self.compute_button])
        super().__init__([self._controls, self.info, self.caption])
        self.add_class("sigma-pca-tab")

    def compute(self) -> str:
        """Decompose (or take the dataset's kept result) and draw the three figures."""
        ds, n = self.dataset, int(self.n_components.value)
        with self.panel.busy(2, "whole-spectrum PCA") as step:
            d = ds.spectral_decomposition(n_components=n)
            step("figures")
            summary = plot.spectral_summary_figure(d, ds.energy_axis)
            maps = plot.plot_spectral_scores(d, calibration=ds)
        if self.summary_image is None:
            self.summary_image = png_widget(summary, "sigma-pca-summary")
            self.maps_image = png_widget(maps, "sigma-pca-maps")
            self.children = [self._controls, self.info, self.summary_image, self.maps_image, self.caption]
        else:
            set_png(self.summary_image, summary)
            set_png(self.maps_image, maps)
        self.decomposition = d
        self.info.value = _USE.format(n=d.n_components)
        self.caption.value = html.escape(calibration_caption(ds, d.scores.shape[1]))
        r = 100 * d.explained_variance_ratio
        return (f"Whole-spectrum PCA: {d.n_components} components over {len(d.edges) - 1} energy bands explain "
                f"{r.sum():.1f} % of the Poisson-scaled variance (PC1 {r[0]:.1f} %).")
