"""Figure builders: matplotlib (static, PNG) and Bokeh (interactive views); no widgets here.

Cluster colours always come from the segmenter through :func:`cluster_colors`.
"""

from .annotate import (
    add_scale_bar,
    cluster_label,
    feature_units,
    pixel_size,
    place_line_labels,
    unassigned_label,
    useful_energy_range,
)
from .colors import NOISE_COLOR, cluster_colors, label_rgba, palette, to_hex
from .evidence import plot_phase_evidence
from .spectral import (
    SCORE_UNITS,
    plot_spectral_components,
    plot_spectral_scores,
    plot_spectral_scree,
    spectral_score_titles,
    spectral_summary_figure,
)
from .static import (
    cluster_spectra,
    figure_to_png,
    gaussian_ellipses,
    new_figure,
    plot_abundance_map,
    plot_cluster_distribution,
    plot_cluster_spectra,
    plot_feature_maps,
    plot_intensity_maps,
    plot_latent,
    plot_nav_image,
    plot_nmf,
    plot_phase_map,
    plot_pixel_distributions,
    plot_projection,
    plot_sum_spectrum,
    save_png,
    sum_spectrum_lines,
)
from .unmixing import ABUNDANCE_UNITS, abundance_fractions

__all__ = [
    "ABUNDANCE_UNITS",
    "NOISE_COLOR",
    "SCORE_UNITS",
    "abundance_fractions",
    "add_scale_bar",
    "cluster_label",
    "unassigned_label",
    "feature_units",
    "pixel_size",
    "place_line_labels",
    "useful_energy_range",
    "cluster_colors",
    "cluster_spectra",
    "figure_to_png",
    "gaussian_ellipses",
    "label_rgba",
    "new_figure",
    "palette",
    "plot_abundance_map",
    "plot_cluster_distribution",
    "plot_cluster_spectra",
    "plot_feature_maps",
    "plot_intensity_maps",
    "plot_latent",
    "plot_nav_image",
    "plot_nmf",
    "plot_phase_evidence",
    "plot_phase_map",
    "plot_pixel_distributions",
    "plot_projection",
    "plot_spectral_components",
    "plot_spectral_scores",
    "plot_spectral_scree",
    "plot_sum_spectrum",
    "save_png",
    "spectral_score_titles",
    "spectral_summary_figure",
    "sum_spectrum_lines",
    "to_hex",
]
