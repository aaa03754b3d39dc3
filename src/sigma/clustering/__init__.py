"""Clustering of latent spaces into phase maps, with undoable edits, state files and masks.

Examples
--------
>>> from sigma.clustering import PixelSegmenter, cluster_palette
>>> cluster_palette(2)
['#1f77b4', '#ff7f0e']
"""

from sigma.clustering.geometry import points_in_polygon, points_in_region
from sigma.clustering.masks import read_image_shape, upscale_labels, write_cluster_masks
from sigma.clustering.methods import (
    METHODS,
    ClusterFit,
    NeighbourAssigner,
    bic_sweep,
    fit_clusters,
    make_estimator,
    predict_clusters,
)
from sigma.clustering.palette import NOISE_COLOR, cluster_palette, next_free_color, normalise_color
from sigma.clustering.refine import reassign_by_spectra
from sigma.clustering.segmenter import PixelSegmenter
from sigma.clustering.state import FORMAT_NAME, FORMAT_VERSION, read_state, write_state

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "METHODS",
    "NOISE_COLOR",
    "ClusterFit",
    "NeighbourAssigner",
    "PixelSegmenter",
    "bic_sweep",
    "cluster_palette",
    "fit_clusters",
    "make_estimator",
    "next_free_color",
    "normalise_color",
    "points_in_polygon",
    "points_in_region",
    "predict_clusters",
    "read_image_shape",
    "read_state",
    "reassign_by_spectra",
    "upscale_labels",
    "write_cluster_masks",
    "write_state",
]
