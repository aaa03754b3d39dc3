"""Features from the whole spectrum: energy bands of equal counts and Poisson-scaled PCA.

X-ray line windows keep a few percent of the channels. These kernels keep all of them, in a
form small enough to cluster:

* :func:`energy_bands` cuts the energy axis into bands that hold equal shares of the map's
  summed counts: narrow over the peaks, wide over the background, so every band carries about
  the same statistical weight and no channel is left out.
* :func:`band_counts` sums each pixel's counts over those bands in one pass over the cube
  (NumPy or dask, read in row blocks): a ``(H, W, B)`` map of counts that keeps the Poisson
  statistics (sums of counts are still counts).
* :func:`poisson_pca` is the principal component analysis HyperSpy's
  ``decomposition(normalize_poissonian_noise=True)`` performs: the data are divided by
  ``sqrt(pixel total * band total)`` so that Poisson noise has about the same variance
  everywhere, then decomposed by SVD. The scores of the first components are features in
  which every element of the spectrum counts.
* :func:`spectral_decomposition` chains the three and keeps what a reader needs to judge the
  result (explained variance, the components over energy bands); :func:`spectral_features`
  returns only its ``(H, W, d)`` scores.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> a, b = rng.dirichlet(np.ones(50)), rng.dirichlet(np.ones(50))
>>> truth = np.zeros((10, 12), int); truth[:, 6:] = 1
>>> cube = rng.poisson(200 * np.stack([a, b])[truth])
>>> f = spectral_features(cube, n_components=2, n_bands=16)
>>> f.shape, bool(abs(f[..., 0][truth == 0].mean() - f[..., 0][truth == 1].mean()) > 1)
((10, 12, 2), True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._errors import bad_value

__all__ = ["SpectralDecomposition", "band_counts", "energy_bands", "poisson_pca", "spectral_decomposition",
           "spectral_features"]

#: Bytes of one row block of :func:`band_counts`, once cast to float32.
_BLOCK_BYTES = 64 * 2**20


def energy_bands(spectrum, n_bands: int = 64) -> np.ndarray:
    """Channel edges of ``n_bands`` bands holding equal shares of a summed spectrum's counts.

    Parameters
    ----------
    spectrum : array_like, shape (C,)
        Summed counts per channel (for example the map's sum spectrum).
    n_bands : int
        Number of bands wanted; fewer are returned when peaks hold more than one band's share
        (a band is at least one channel wide).

    Returns
    -------
    ndarray of int64, shape (B + 1,)
        Increasing channel edges from 0 to C; band ``b`` covers channels
        ``edges[b]:edges[b + 1]``.

    Examples
    --------
    >>> energy_bands([1, 1, 1, 1, 4, 4, 4, 4], 4).tolist()
    [0, 4, 5, 6, 8]
    """
    s = np.nan_to_num(np.asarray(spectrum, dtype=np.float64).ravel())
    if s.size < 1:
        raise bad_value("spectrum", s.shape, "a non-empty 1-D spectrum")
    if isinstance(n_bands, bool) or not isinstance(n_bands, int | np.integer) or n_bands < 1:
        raise bad_value("n_bands", n_bands, "an int >= 1")
    s = np.clip(s, 0, None)
    total = s.sum()
    if total <= 0:
        cut = np.linspace(0, s.size, min(int(n_bands), s.size) + 1).round().astype(np.int64)
        return np.unique(cut)
    c = np.cumsum(s) / total
    inner = np.searchsorted(c, np.linspace(0, 1, int(n_bands) + 1)[1:-1], side="right")
    return np.unique(np.r_[0, np.clip(inner, 1, s.size - 1), s.size]).astype(np.int64)


def band_counts(counts, edges) -> np.ndarray:
    """Counts of every pixel summed over energy bands, ``(H, W, B)`` float32, in one pass.

    Parameters
    ----------
    counts : array_like, shape (H, W, C)
        Counts cube (NumPy or dask; a dask cube is computed block of rows by block of rows).
    edges : array_like of int, shape (B + 1,)
        Band edges from :func:`energy_bands`.

    Examples
    --------
    >>> import numpy as np
    >>> band_counts(np.arange(8).reshape(1, 2, 4), [0, 1, 4])[0].tolist()
    [[0.0, 6.0], [4.0, 18.0]]
    """
    if getattr(counts, "ndim", None) != 3:
        counts = np.asarray(counts)
    if counts.ndim != 3:
        raise bad_value("counts", getattr(counts, "shape", None), "an (H, W, C) counts cube")
    e = np.asarray(edges, dtype=np.int64)
    c = counts.shape[2]
    if e.ndim != 1 or e.size < 2 or e[0] != 0 or e[-1] != c or np.any(np.diff(e) <= 0):
        raise bad_value("edges", e.tolist() if e.size < 12 else e.shape,
                        f"increasing channel edges from 0 to {c}")
    from .._blocks import map_row_blocks

    h, w = counts.shape[:2]
    out = np.empty((h, w, e.size - 1), dtype=np.float32)

    def put(blk, r0, r1):
        blk = np.nan_to_num(blk) if blk.dtype.kind == "f" else blk
        out[r0:r1] = np.add.reduceat(blk, e[:-1], axis=2, dtype=np.float32)

    # blocks in parallel threads (reduceat releases the GIL); a dask cube in one graph, its
    # row chunks kept whole, instead of one graph per slice. reduceat casts a block to float32
    # whole: blocks of _BLOCK_BYTES once cast (a 64 MiB uint8 block took 256 MiB more)
    limit = max(1, _BLOCK_BYTES * np.dtype(counts.dtype).itemsize // 4)
    map_row_blocks(put, counts, limit=limit, desc="band counts", in_process=True)
    return out


def poisson_pca(x, n_components: int = 8, *, random_state=0):
    """PCA of counts scaled for Poisson noise, as HyperSpy's ``normalize_poissonian_noise``.

    ``x / sqrt(outer(pixel totals, channel totals))`` has about the same noise variance in
    every entry; its mean is removed and the leading right singular vectors are the
    components.

    Parameters
    ----------
    x : array_like, shape (N, B)
        Counts of N pixels (band counts, or channels when there are few).
    n_components : int
        Components kept (at most ``min(N, B)``).
    random_state : int or None
        Seed of the randomized SVD used for large inputs.

    Returns
    -------
    scores : ndarray of float32, shape (N, d)
    components : ndarray of float32, shape (d, B)
        Unit vectors in the scaled space.
    explained_variance : ndarray of float64, shape (d,)
        Variance of the scaled data along each component.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> x = rng.poisson(np.r_[np.tile([50, 5, 5], (30, 1)), np.tile([5, 5, 50], (30, 1))])
    >>> s, comp, var = poisson_pca(x, 2)
    >>> s.shape, bool(var[0] > 10 * var[1])
    ((60, 2), True)
    """
    scores, comps, var, _ = _poisson_pca(x, n_components, random_state)
    return scores, comps, var


def _poisson_pca(x, n_components, random_state):
    """:func:`poisson_pca` and the total variance of the scaled data (for variance ratios)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise bad_value("x", x.shape, "an (N, B) array of counts with N >= 2")
    if isinstance(n_components, bool) or not isinstance(n_components, int | np.integer) or n_components < 1:
        raise bad_value("n_components", n_components, "an int >= 1")
    d = int(min(n_components, *x.shape))
    rows = x.sum(1)
    cols = x.sum(0)
    scale = np.sqrt(np.maximum(rows, 1e-12))[:, None] * np.sqrt(np.maximum(cols, 1e-12))[None, :]
    z = x / scale * np.sqrt(max(rows.sum(), 1.0))  # unit noise variance for a rank-1 model
    z -= z.mean(0)
    if min(z.shape) <= 200 or d >= min(z.shape) // 2:
        u, s, vt = np.linalg.svd(z, full_matrices=False)
        u, s, vt = u[:, :d], s[:d], vt[:d]
    else:
        from sklearn.utils.extmath import randomized_svd

        u, s, vt = randomized_svd(z, d, random_state=random_state)
    # a sign convention that does not depend on the solver: largest loading positive
    sign = np.sign(vt[np.arange(d), np.abs(vt).argmax(1)])
    sign[sign == 0] = 1
    u, vt = u * sign, vt * sign[:, None]
    total = float(np.einsum("ij,ij->", z, z)) / len(z)
    return (u * s).astype(np.float32), vt.astype(np.float32), s**2 / len(z), total


@dataclass(frozen=True)
class SpectralDecomposition:
    """Poisson-scaled PCA of a counts cube over equal-count energy bands.

    Attributes
    ----------
    scores : ndarray of float32, shape (H, W, d)
        The score maps: features in which every channel counts.
    components : ndarray of float32, shape (d, B)
        Each component over the energy bands (unit vectors in the Poisson-scaled space).
    explained_variance : ndarray of float64, shape (d,)
        Variance of the scaled data along each component.
    total_variance : float
        Variance of the scaled data over all bands (the denominator of the ratios).
    edges : ndarray of int64, shape (B + 1,)
        Channel edges of the bands (:func:`energy_bands`).

    Examples
    --------
    >>> import numpy as np
    >>> cube = np.random.default_rng(0).poisson(3.0, (6, 7, 40))
    >>> d = spectral_decomposition(cube, n_components=3, n_bands=8)
    >>> d.names, d.scores.shape, bool(d.explained_variance_ratio.sum() <= 1)
    (['PC1', 'PC2', 'PC3'], (6, 7, 3), True)
    """

    scores: np.ndarray
    components: np.ndarray
    explained_variance: np.ndarray
    total_variance: float
    edges: np.ndarray

    @property
    def n_components(self) -> int:
        """Components kept."""
        return int(self.scores.shape[-1])

    @property
    def names(self) -> list[str]:
        """``['PC1', 'PC2', ...]``: the names of the score features."""
        return [f"PC{i + 1}" for i in range(self.n_components)]

    @property
    def explained_variance_ratio(self) -> np.ndarray:
        """Share of the scaled data's variance along each component (the scree)."""
        return self.explained_variance / max(self.total_variance, np.finfo(float).tiny)


def spectral_decomposition(counts, n_components: int = 8, n_bands: int = 128, *, random_state=0,
                           mask=None) -> SpectralDecomposition:
    """Poisson-PCA of a counts cube over equal-count energy bands, with its explained variance.

    Parameters
    ----------
    counts : array_like, shape (H, W, C)
        Counts on the analysis grid (for a dataset: ``ds.analysis_spectra.data``). Normalised
        spectra work too, but then every pixel weighs the same whatever its counts.
    n_components : int
        Scores kept per pixel.
    n_bands : int
        Energy bands the spectrum is summed over first (:func:`energy_bands`).
    random_state : int or None
        Seed of the randomized SVD.
    mask : ndarray of bool, shape (H, W), optional
        Valid pixels: only they enter the sums and the decomposition; the others get score 0.

    Returns
    -------
    SpectralDecomposition

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.dirichlet(np.ones(50)), rng.dirichlet(np.ones(50))
    >>> truth = np.zeros((10, 12), int); truth[:, 6:] = 1
    >>> d = spectral_decomposition(rng.poisson(200 * np.stack([a, b])[truth]), 3, 16)
    >>> bool(d.explained_variance_ratio[0] > 5 * d.explained_variance_ratio[1])  # one real component
    True
    """
    if getattr(counts, "ndim", None) != 3:
        counts = np.asarray(counts)
    if counts.ndim != 3:
        raise bad_value("counts", getattr(counts, "shape", None), "an (H, W, C) counts cube")
    h, w, _ = counts.shape
    keep = None
    if mask is not None:
        keep = np.asarray(mask, dtype=bool)
        if keep.shape != (h, w):
            raise bad_value("mask", np.shape(mask), f"an ({h}, {w}) boolean array of valid pixels")
        keep = None if keep.all() else keep
    edges = energy_bands(_sum_spectrum(counts, keep), n_bands)
    y = band_counts(counts, edges).reshape(h * w, -1)
    keep = None if keep is None else keep.reshape(-1)
    fit = y if keep is None else y[keep]
    s, comps, var, tot = _poisson_pca(fit, n_components, random_state)
    if keep is not None:
        full = np.zeros((h * w, s.shape[1]), dtype=np.float32)
        full[keep] = s
        s = full
    return SpectralDecomposition(s.reshape(h, w, -1), comps, var, tot, edges)


def _sum_spectrum(counts, keep=None) -> np.ndarray:
    """Summed spectrum (float64) of the pixels ``keep`` (all when None), NaN counted as 0."""
    if hasattr(counts, "dask"):
        import dask.array as da

        from .._progress import compute

        x = counts if keep is None else da.where(keep[..., None], counts, 0)
        (total,) = compute(da.nansum(x, axis=(0, 1), dtype=np.float64), desc="sum spectrum")
        return np.asarray(total)
    x = np.asarray(counts)
    total = np.nansum(x, axis=(0, 1), dtype=np.float64) if x.dtype.kind == "f" else x.sum((0, 1), dtype=np.float64)
    if keep is not None:  # the invalid pixels are few: subtract theirs
        total -= np.nansum(x[~keep], axis=0, dtype=np.float64)
    return total


def spectral_features(counts, n_components: int = 8, n_bands: int = 128, *, random_state=0):
    """Poisson-PCA scores of a counts cube over equal-count energy bands, ``(H, W, d)``.

    The scores of :func:`spectral_decomposition` (same parameters).

    Returns
    -------
    ndarray of float32, shape (H, W, d)

    Examples
    --------
    >>> import numpy as np
    >>> cube = np.random.default_rng(0).poisson(3.0, (6, 7, 40))
    >>> spectral_features(cube, n_components=3, n_bands=8).shape
    (6, 7, 3)
    """
    return spectral_decomposition(counts, n_components, n_bands, random_state=random_state).scores
