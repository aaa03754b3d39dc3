"""Ready tiny examples: a phantom's dataset, and a dataset with a fitted segmenter.

The docstring examples of :mod:`sigma.gui.gui` and :mod:`sigma.plot` need a dataset, or a
dataset and a :class:`~sigma.clustering.PixelSegmenter`, before they can show a widget or a
figure. These functions build them in one line and a fraction of a second, from an 8 x 8 SEM
phantom (:func:`~sigma.synthetic.make_phantom`, 256 channels of 40 eV), the same every time.
They are for examples and quick tries, not for judging a method: the "latent space" of
:func:`tiny_segmenter` is two z-scored feature maps, not a UMAP or autoencoder projection.

Examples
--------
>>> from sigma.synthetic import tiny_segmenter
>>> sem, ps = tiny_segmenter()
>>> sem.normalised_elemental_data.shape, ps.labels.shape, ps.n_clusters
((8, 8, 3), (8, 8), 3)
"""

from __future__ import annotations

#: Feature list of the tiny examples: the Kα lines of the phantom's magnetite, quartz and calcite.
TINY_FEATURES = ("Fe_Ka", "Si_Ka", "Ca_Ka")


def tiny_dataset(shape: tuple[int, int] = (8, 8), *, features=TINY_FEATURES, seed: int = 0):
    """A small SEM phantom as an ``SEMDataset`` with its feature list set, not normalised.

    Parameters
    ----------
    shape : tuple of int, default (8, 8)
        ``(H, W)`` pixels of the phantom.
    features : sequence of str, default ('Fe_Ka', 'Si_Ka', 'Ca_Ka')
        X-ray lines for :meth:`~sigma.datasets.SEMDataset.set_feature_list`.
    seed : int, default 0
        Seed of :func:`~sigma.synthetic.make_phantom` (map, noise and counts).

    Returns
    -------
    SEMDataset
        256 channels of 40 eV from -0.47 keV; the navigation image is the phantom's BSE image.

    Examples
    --------
    >>> sem = tiny_dataset()
    >>> sem.feature_list, sem.spectra.data.shape, sem.nav_img.metadata.General.title
    (['Fe_Ka', 'Si_Ka', 'Ca_Ka'], (8, 8, 256), 'BSE')
    >>> tiny_dataset((6, 8)).nav_img.data.shape
    (6, 8)
    """
    from sigma.datasets import SEMDataset

    from .generate import make_phantom

    phantom = make_phantom(shape, n_channels=256, energy_scale=0.04, seed=seed)
    dataset = SEMDataset(phantom.to_signal())
    dataset.set_feature_list(list(features))
    return dataset


def tiny_segmenter(
    shape: tuple[int, int] = (8, 8), *, n_clusters: int = 3, features=TINY_FEATURES, seed: int = 0
):
    """:func:`tiny_dataset`, z-scored, and a k-means segmenter of its first two features.

    Parameters
    ----------
    shape, features, seed
        As in :func:`tiny_dataset`.
    n_clusters : int, default 3
        Clusters of the k-means fit (``random_state=0``).

    Returns
    -------
    dataset : SEMDataset
        ``normalised_elemental_data`` holds the z-scored feature maps ``(H, W, F)``.
    segmenter : PixelSegmenter
        Fitted on the first two z-scored features of every pixel, ``(H * W, 2)``, which stand
        in for a latent space.

    Examples
    --------
    >>> sem, ps = tiny_segmenter()
    >>> ps.cluster_ids.tolist(), ps.latent.shape, ps.dataset is sem
    ([0, 1, 2], (64, 2), True)
    >>> tiny_segmenter(n_clusters=2)[1].n_clusters
    2
    """
    from sigma.clustering import PixelSegmenter
    from sigma.preprocessing.normalisation import zscore

    dataset = tiny_dataset(shape, features=features, seed=seed)
    data = dataset.normalisation([zscore])
    latent = data.reshape(-1, data.shape[-1])[:, :2]
    return dataset, PixelSegmenter(latent, dataset, "Kmeans", {"n_clusters": n_clusters})
