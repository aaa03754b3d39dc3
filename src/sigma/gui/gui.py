"""The tutorial's GUI functions (``from sigma.gui import gui``): thin wiring of widgets.

Every function returns one top-level widget (shown when it is the cell's last expression)
whose attributes expose its parts for scripts and tests: ``.status`` (a Label, CSS class
``sigma-status``, saying what the last action did and the resulting number of clusters; errors
in red with ✖, warnings in amber with ⚠), ``.buttons`` (by their tutorial text), ``.progress``,
and the views. Figures come from :mod:`sigma.plot`; all edits go through the PixelSegmenter's
public methods and every view takes cluster colours from the segmenter, so they agree
everywhere.

Views follow the segmenter: after an edit made anywhere (an editor widget, another view, code
calling ``ps.merge_clusters``...), every open view of the same segmenter redraws itself once
(:meth:`sigma.clustering.PixelSegmenter.observe`); NMF views say when their result became stale.

Interactive views (latent scatter, linked map) are Bokeh figures in jupyter_bokeh widgets,
loaded from the installed package (no CDN); static figures are matplotlib PNGs rendered at twice
their display size and shown at their natural size, with legends (HTML, beside the figure),
scale bars from the file's calibration and labelled colour bars.
"""

from __future__ import annotations

import logging

from .. import plot
from ._base import Panel, load_bokeh, png_widget
from ._dataset import DatasetViewer, PixelDistributions, intensity_maps_panel, parse_features
from ._evidence import PhaseEvidenceView
from ._latent import LatentEditor, LatentMapInspector
from ._unmix import abundance_panel, nmf_panel
from ._views import ClusterDistribution, cluster_spectra_panel, latent_space_panel, phase_map_panel

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
    "view_phase_evidence",
    "view_phase_map",
    "view_pixel_distributions",
]


_parse_features = parse_features  # the name older code used


# ----------------------------------------------------------------------------- dataset
def view_dataset(dataset):
    """Navigation image, sum spectrum and element maps of a dataset, with line search.

    Shows an "Energy (keV)" box with a "± window (keV)" listing the X-ray lines within
    energy ± window, each with a "+ line" button adding it to the features; a "Feature List"
    box (always the dataset's real list, ``Navigator`` included) applied with "Set", which
    says what it added and removed, flags lines whose peaks overlap (e.g. Mn Kβ on Fe Kα) and
    warns when segmenters were built on the previous features; and tabs "Navigation Signal",
    "Sum Spectrum" (the useful energy range, line names that never overlap), "Elemental Maps
    (raw)", after binning or normalising "Elemental maps (binned 3×3, normalised spectra)" (the
    title says what was done; labelled colour bars, scale bars), and "Whole spectrum (PCA)":
    Poisson-PCA of every channel, not only the line windows (scree, components over energy,
    score maps), computed when the tab is opened. Its scores are features for the latent space
    through ``dataset.normalised_features("both")`` (or ``"spectrum"``).

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
    ('Navigation Signal', 'Sum Spectrum', 'Elemental Maps (raw)', 'Whole spectrum (PCA)')
    >>> w.tabs.selected_index = 3  # opening the tab computes the decomposition
    >>> w.status.value  # doctest: +ELLIPSIS
    'Whole-spectrum PCA: 8 components over ... energy bands explain ... % of the Poisson-scaled variance (PC1 ...'
    >>> w.energy.value = 6.49  # Mn Kβ, on top of Fe Kα
    >>> [b.description for b in w.add_buttons.children][:2]
    ['+ Mn_Kb', '+ Dy_La']
    >>> w.add_buttons.children[0].click()
    >>> print(w.status.value)  # doctest: +ELLIPSIS
    ⚠ Feature list set: 4 features (Fe_Ka, Si_Ka, Ca_Ka, Mn_Kb). Added: Mn_Kb. Overlap: Fe_Ka and Mn_Kb (also a feature) are 86 eV apart, ...
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

    One row per feature (4 per page: ``.pager`` reaches the others), one column per stage,
    every panel with labelled axes.

    Returns
    -------
    Panel
        ``.image`` holds the figure, ``.pager`` the page controls.

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
    return PixelDistributions(dataset, norm_list, cmap=cmap)


def view_intensity_maps(spectra, element_list, cmap: str = "viridis"):
    """Grid of maps of an ``(H, W, F)`` array, one per name of ``element_list``.

    The colour bars say what the values are: when ``spectra`` is a dataset's
    ``normalised_elemental_data`` (found in the notebook), from its normalisation chain (and
    its calibration gives scale bars); otherwise a z-score or softmax array is recognised.

    Returns
    -------
    Panel
        ``.image`` holds the figure.

    Examples
    --------
    >>> import numpy as np
    >>> maps = np.random.default_rng(0).normal(size=(8, 10, 2))
    >>> w = view_intensity_maps((maps - maps.mean((0, 1))) / maps.std((0, 1)), ["Fe_Ka", "Si_Ka"])
    >>> w.status.value, w.image.annotations["colorbar_labels"]
    ('2 maps of 8×10 px (z-score).', ['z-score', 'z-score'])
    >>> w  # doctest: +SKIP
    """
    return intensity_maps_panel(spectra, element_list, cmap=cmap)


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
    segmenter (so in every view); a legend (``.legend``) names every cluster. The view
    follows edits made elsewhere.

    Returns
    -------
    Panel
        ``.image``, ``.legend``, ``.cluster`` (Dropdown, ``sigma-cluster``), ``.color_picker``
        (``sigma-color``), ``.buttons['Recolour']`` (``sigma-recolour``).

    Examples
    --------
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> w = view_latent_space(ps)
    >>> w.cluster.options, w.status.value
    ((0, 1, 2), '3 clusters.')
    >>> ps.merge_clusters([0, 1])  # outside a kernel the views update at once
    >>> w.cluster.options, w.legend.ids, w.status.value
    ((0, 2), [0, 2], 'Updated after merge_clusters: 2 clusters.')
    >>> w  # doctest: +SKIP
    """
    return latent_space_panel(ps, color=color)


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

    The map carries a scale bar from the file's calibration and a legend; colours, legend and
    counts follow edits made in :func:`interactive_latent_plot` or anywhere else.

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
    """All clusters in their colours over the navigation image, with a legend (id, name once
    known, area) and a scale bar; it redraws itself after every edit of the clusters.

    Returns
    -------
    Panel
        ``.image``, ``.legend``, ``.alpha`` (FloatSlider, ``sigma-alpha``),
        ``.buttons['Refresh']``.

    Examples
    --------
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> w = view_phase_map(ps, alpha_cluster_map=0.7)
    >>> w.status.value, w.alpha.value
    ('Phase map: 3 clusters.', 0.7)
    >>> w  # doctest: +SKIP
    """
    return phase_map_panel(ps, alpha_cluster_map)


def view_phase_evidence(ps):
    """How the number of phases was decided, for a segmenter fitted with ``n_components="auto"``.

    Shows the BIC along the merge path of the count model (the BIC's minimum and the final
    number of phases marked), what was decided after it (components made of boundary pixels
    dropped as mixtures, new phases opened from counts no phase explains) as a table with their
    statistics, and whether the segmenter still holds the clusters of that fit: after an edit
    (merge, create...) the view says "evidence of the automatic fit; N edits since". A segmenter
    fitted with a fixed number has no evidence, and the view says so.

    Returns
    -------
    PhaseEvidenceView
        ``.image`` (the BIC curve), ``.rows`` (the decisions), ``.table``, ``.state``.

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.clustering.auto_k import PhaseEvidence
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> ps.n_components_evidence = PhaseEvidence(  # normally set by n_components="auto"
    ...     3, 6, np.arange(6, 0, -1), np.array([9.0, 4.0, 0.0, 20.0, 60.0, 90.0]), np.zeros(6), 4, 30.0,
    ...     32, 64, 1.0, [{"step": "mixture", "pixels": 5, "rho": 0.1, "interior": 0.0, "neighbours": 2}])
    >>> w = view_phase_evidence(ps)
    >>> [(r["decision"], r["pixels"]) for r in w.rows], w.status.value
    ([('mixture', 5)], '3 phases: BIC chose 4 spectra of 6 clusters; 1 mixtures dropped, 0 new phases.')
    >>> ps.merge_clusters([0, 1])
    >>> print(w.status.value)  # doctest: +ELLIPSIS
    ⚠ Updated after merge_clusters: ... 1 edit since (merge_clusters): the segmenter now has 2 clusters ...
    >>> w  # doctest: +SKIP
    """
    return PhaseEvidenceView(ps)


def show_cluster_distribution(ps, max_clusters: int = 40, per_page: int = 4):
    """Per cluster: where its pixels are, its mean features and its mean spectrum.

    ``per_page`` clusters are drawn at a time; ◀ ▶ and the page list (``.pager``) reach every
    cluster. ``max_clusters`` is kept for the tutorial's signature and no longer hides any.

    Returns
    -------
    ClusterDistribution
        ``.image`` holds the figure, ``.shown`` the cluster ids on it.

    Examples
    --------
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> w = show_cluster_distribution(ps, per_page=2)
    >>> w.shown, w.status.value
    ([0, 1], '3 clusters; 2 per page, use ◀ ▶ or the list for the others.')
    >>> w.pager.next.click()
    >>> w.shown
    [2]
    >>> w  # doctest: +SKIP
    """
    return ClusterDistribution(ps, per_page=per_page)


def view_clusters_sum_spectra(ps, normalisation: bool = True, spectra_range=None):
    """Pick clusters: the map shows where they are, the plot their spectra.

    Parameters
    ----------
    normalisation : bool
        Scale each spectrum to a maximum of 1.
    spectra_range : (float, float), optional
        Energy range in keV (default: up to the beam energy or just past the last feature
        line).

    The cluster choices follow edits (merged-away ids disappear).

    Returns
    -------
    Panel
        ``.clusters`` (SelectMultiple, ``sigma-cluster-select``), ``.kind`` (Dropdown,
        ``sigma-spectrum-kind``: the mean over all pixels, the core pixels' mean, or the
        phase's own spectrum: pure on SEM maps, net on TEM maps; see
        :meth:`~sigma.clustering.PixelSegmenter.get_cluster_spectra`), ``.map_image``,
        ``.spectra_image``.

    Examples
    --------
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> w = view_clusters_sum_spectra(ps, spectra_range=(0.5, 8.0))
    >>> w.clusters.options, w.status.value
    ((0, 1, 2), 'Showing clusters [0] of 3.')
    >>> w.clusters.value = (0, 2)
    >>> ps.merge_clusters([1, 2])
    >>> w.clusters.options, w.clusters.value
    ((0, 1), (0,))
    >>> w  # doctest: +SKIP
    """
    return cluster_spectra_panel(ps, normalisation=normalisation, spectra_range=spectra_range)


# ----------------------------------------------------------------------------- unmixing
def show_unmixed_weights_and_components(ps, weights, components):
    """NMF weights per cluster and the end-member spectra, all or one at a time.

    Returns
    -------
    Panel
        ``.component`` (Dropdown "All" (value ``'all'``)/0/1/…, ``sigma-component``), ``.image``.

    ``show_unmixed_weights_and_compoments`` (the tutorial's spelling) is the same function.
    After an edit of the clusters the weights are marked stale (a warning in the status line);
    a recolour redraws them.

    Examples
    --------
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> weights, components = ps.get_unmixed_spectra_profile(n_components=2)
    >>> w = show_unmixed_weights_and_components(ps, weights, components)
    >>> w.status.value
    '2 components unmixing 3 clusters.'
    >>> w.component.value = 1
    >>> ps.merge_clusters([0, 1])
    >>> print(w.status.value)  # doctest: +ELLIPSIS
    ⚠ Stale: the clusters changed (merge_clusters) after these weights were computed; ...
    >>> w  # doctest: +SKIP
    """
    return nmf_panel(ps, weights, components)


#: The tutorial's spelling.
show_unmixed_weights_and_compoments = show_unmixed_weights_and_components


def show_abundance_map(ps, weights, components):
    """Per-pixel abundance of an NMF component (chosen from a Dropdown).

    "Show" chooses what the map says, and its colour bar is labelled accordingly: the fraction
    of each pixel's modelled counts that the component explains (0–1, default), or the NNLS
    weight (1 = the counts of the component spectrum).

    Returns
    -------
    Panel
        ``.component`` (Dropdown, ``sigma-component``), ``.quantity`` (ToggleButtons),
        ``.image``, ``.abundance`` (``(H, W, k)`` NNLS weights from ``ps.abundance_maps``),
        ``.fractions`` (the same as fractions).

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
    return abundance_panel(ps, weights, components)


