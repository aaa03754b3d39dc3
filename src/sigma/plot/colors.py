"""Cluster colours: one source of truth (the segmenter), shared by every view.

Every figure builder and widget asks :func:`cluster_colors` for the colour of a cluster, so a
cluster looks the same in the latent space, the phase map, the spectra and the NMF plots, and
a recolour made in one widget shows everywhere.
"""

from __future__ import annotations

import numpy as np

from ..clustering.palette import NOISE_COLOR, cluster_palette


def palette(n: int) -> list[str]:
    """``n`` distinct hex colours: the segmenter's default cluster palette.

    Colour ``i`` is the default colour of cluster id ``i``
    (:func:`sigma.clustering.palette.cluster_palette`).

    Examples
    --------
    >>> palette(3)
    ['#1f77b4', '#ff7f0e', '#2ca02c']
    >>> len(set(palette(70)))
    70
    """
    return cluster_palette(int(n))


def cluster_colors(ps) -> dict[int, str]:
    """``{cluster id: '#rrggbb'}`` for every label of a segmenter, noise (-1) included.

    Colours come from ``ps.colors``; a cluster the segmenter gives no colour gets the default
    palette colour of its id, and noise gets :data:`NOISE_COLOR`.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> ps = SimpleNamespace(labels=np.array([[0, 1], [-1, 1]]), colors={0: "#ff0000"})
    >>> cluster_colors(ps)
    {-1: '#7f7f7f', 0: '#ff0000', 1: '#ff7f0e'}
    """
    given = dict(getattr(ps, "colors", None) or {})
    ids = sorted(int(i) for i in np.unique(np.asarray(ps.labels)))
    pal = palette(max(ids, default=0) + 1)
    out = {}
    for i in ids:
        c = given.get(i, given.get(str(i)))
        if c is None:
            c = NOISE_COLOR if i < 0 else pal[i]
        out[i] = to_hex(c)
    return out


def to_hex(color) -> str:
    """Any matplotlib colour (name, hex, RGB tuple) as ``'#rrggbb'``.

    Examples
    --------
    >>> to_hex("red"), to_hex((0, 0.5, 1))
    ('#ff0000', '#0080ff')
    """
    from matplotlib.colors import to_hex as _to_hex

    return _to_hex(color, keep_alpha=False)


def label_rgba(labels: np.ndarray, colors: dict[int, str], alpha: float = 1.0,
               noise_alpha: float | None = None) -> np.ndarray:
    """``(H, W, 4)`` float RGBA image of a label map coloured by ``colors``.

    Examples
    --------
    >>> import numpy as np
    >>> label_rgba(np.array([[0, 1]]), {0: "#ff0000", 1: "#0000ff"}, alpha=0.5)[0, 1]
    array([0. , 0. , 1. , 0.5])
    """
    from matplotlib.colors import to_rgba

    labels = np.asarray(labels)
    ids = np.array(sorted(colors), dtype=np.int64)
    lut = np.array([to_rgba(colors[int(i)], alpha) for i in ids], dtype=float)
    if noise_alpha is not None and ids.size and ids[0] < 0:
        lut[0, 3] = noise_alpha
    pos = np.searchsorted(ids, labels)
    pos = np.clip(pos, 0, max(len(ids) - 1, 0))
    return lut[pos]
