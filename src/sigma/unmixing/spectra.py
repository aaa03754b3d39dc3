"""Per-cluster spectra in one vectorised pass (numpy or dask spectrum cubes)."""

from __future__ import annotations

import numpy as np

from sigma._errors import bad_value

__all__ = ["CORE_MIN_PIXELS", "cluster_spectra", "core_means", "core_pixels", "iter_row_blocks"]

from sigma._blocks import BLOCK_BYTES as _BLOCK_BYTES
from sigma._blocks import map_row_blocks, row_blocks

#: A cluster with fewer core pixels than this (:func:`core_pixels`) has no core spectrum of its
#: own: ``PixelSegmenter.get_cluster_spectra("core")`` gives it the mean of all its pixels.
CORE_MIN_PIXELS = 3


def iter_row_blocks(data, block_bytes: int = _BLOCK_BYTES):
    """Yield ``(r0, r1, block)`` with ``block = np.asarray(data[r0:r1])`` of an (H, W, C) cube.

    For a dask array only that block of rows is computed, so memory stays bounded; but each
    block is then a separate computation (a source shared by all blocks, such as a lazy
    ``.bcf``, is read once per block). A full pass should use
    :func:`sigma._blocks.map_row_blocks`, which computes a dask cube once.

    Examples
    --------
    >>> import numpy as np
    >>> [(a, b, blk.shape) for a, b, blk in iter_row_blocks(np.zeros((4, 2, 3)), 48)]
    [(0, 1, (1, 2, 3)), (1, 2, (1, 2, 3)), (2, 3, (1, 2, 3)), (3, 4, (1, 2, 3))]
    """
    for r0, r1 in row_blocks(data, limit=block_bytes):
        yield r0, r1, np.asarray(data[r0:r1])


def cluster_spectra(data, labels, cluster_ids=None, kind="sum", *, progress=False) -> np.ndarray:
    """Sum or mean spectrum of each cluster.

    One pass over the cube in row blocks (:func:`sigma._blocks.map_row_blocks`: a dask cube
    is computed once; a NumPy cube's blocks run on every core); inside a block the
    per-cluster sums are a sparse indicator-matrix product (no per-pixel Python loop). Noise
    (``-1``), labels not in ``cluster_ids`` and NaN values are ignored.

    Parameters
    ----------
    data : array_like, shape (H, W, C)
        numpy or dask spectrum cube.
    labels : array_like of int, shape (H, W)
    cluster_ids : array_like of int, optional
        Row order of the result; default: sorted unique labels >= 0.
    kind : {'sum', 'mean'}
    progress : bool
        Show a progress bar (lazy cubes).

    Returns
    -------
    ndarray of float64, shape (K, C)

    Examples
    --------
    >>> import numpy as np
    >>> data = np.arange(12, dtype=float).reshape(2, 2, 3)
    >>> cluster_spectra(data, [[0, 1], [1, -1]]).tolist()
    [[0.0, 1.0, 2.0], [9.0, 11.0, 13.0]]
    >>> cluster_spectra(data, [[0, 1], [1, -1]], kind="mean")[1].tolist()
    [4.5, 5.5, 6.5]
    """
    import scipy.sparse as sp

    if kind not in ("sum", "mean"):
        raise bad_value("kind", kind, "'sum' or 'mean'")
    lab = np.asarray(labels)
    if data.ndim != 3 or lab.shape != tuple(data.shape[:2]):
        raise bad_value(
            "labels", lab.shape, f"the navigation shape of the spectra {tuple(data.shape[:2])}"
        )
    ids = (
        np.unique(lab[lab >= 0]) if cluster_ids is None else np.asarray(cluster_ids, dtype=np.int64)
    )
    k, c = len(ids), data.shape[2]
    out = np.zeros((k, c), dtype=np.float64)
    if k == 0:
        return out
    order = np.argsort(ids)
    sorted_ids = ids[order]

    def work(blk, r0, r1):
        flat = lab[r0:r1].ravel()
        pos = np.minimum(np.searchsorted(sorted_ids, flat), k - 1)
        hit = sorted_ids[pos] == flat
        rows = order[pos[hit]]
        cols = np.flatnonzero(hit)
        ind = sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(k, flat.size))
        x = blk.reshape(flat.size, c).astype(np.float64, copy=False)
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        return ind @ x, np.bincount(rows, minlength=k)

    # blocks of about _BLOCK_BYTES once converted to float64 (not in the cube's own dtype)
    limit = max(1, _BLOCK_BYTES * np.dtype(data.dtype).itemsize // 8)
    parts = map_row_blocks(work, data, limit=limit, desc="cluster spectra", progress=progress)
    out = np.sum([p[0] for p in parts], axis=0)
    counts = np.sum([p[1] for p in parts], axis=0)
    if kind == "mean":
        out /= np.maximum(counts, 1)[:, None]
    return out


def core_pixels(labels) -> np.ndarray:
    """``(H, W)`` bool: labelled pixels whose eight neighbours (those inside the map) all share
    their label, the pixels of a cluster least mixed with its neighbours.

    At a boundary a pixel holds some of the phase next to it (the beam spread, binning, a
    particle's thin rim), so a small cluster's mean over all its pixels sits between its phase
    and its host's; the mean over its core pixels does not.

    Examples
    --------
    >>> lab = np.array([[0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 1], [-1, 0, 1, 1]])
    >>> core_pixels(lab).astype(int).tolist()
    [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    """
    lab = np.asarray(labels)
    out = lab >= 0
    for nb in neighbour_views(lab):
        out &= nb == lab
    return out


def core_means(core_sums, n_core, sums, n_pixels) -> np.ndarray:
    """Each cluster's core spectrum: the mean over its core pixels (:func:`core_pixels`) when it
    has at least :data:`CORE_MIN_PIXELS` of them, else the mean over all its pixels.

    Parameters
    ----------
    core_sums, sums : array_like, shape (K, C)
        Summed counts of each cluster's core pixels and of all its pixels.
    n_core, n_pixels : array_like, shape (K,)
        The numbers of those pixels.

    Returns
    -------
    ndarray, shape (K, C), float64

    Examples
    --------
    >>> core_means([[6.0, 2.0], [0.0, 2.0]], [3, 2], [[9.0, 3.0], [4.0, 4.0]], [4, 4]).tolist()
    [[2.0, 0.6666666666666666], [1.0, 1.0]]
    """
    n_core = np.asarray(n_core, dtype=np.float64)
    n_pixels = np.asarray(n_pixels, dtype=np.float64)
    own = n_core >= CORE_MIN_PIXELS
    return np.where(own[:, None], np.asarray(core_sums, dtype=np.float64) / np.maximum(n_core, 1)[:, None],
                    np.asarray(sums, dtype=np.float64) / np.maximum(n_pixels, 1)[:, None])


def neighbour_views(labels):
    """The eight ``(H, W)`` views of each pixel's neighbours; outside the map a pixel's own
    label stands in, so only neighbours inside the map differ from it.

    Examples
    --------
    >>> [v.tolist() for v in neighbour_views(np.array([[0, 1]]))][3:5]
    [[[0, 0]], [[1, 1]]]
    """
    lab = np.asarray(labels)
    if lab.ndim != 2:
        raise bad_value("labels", lab.shape, "(H, W) labels")
    h, w = lab.shape
    pad = np.pad(lab, 1, mode="edge")  # outside the map repeats the border
    return [pad[dy : dy + h, dx : dx + w] for dy in (0, 1, 2) for dx in (0, 1, 2) if dy != 1 or dx != 1]
