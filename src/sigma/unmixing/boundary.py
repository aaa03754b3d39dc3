"""Boundary-corrected ("pure") cluster spectra of bulk (SEM) maps.

At a phase boundary a pixel holds X-rays of both phases: the beam's interaction volume and
the analysis bin straddle it. A small inclusion is mostly boundary: a 20-pixel inclusion may
have 3 core pixels (:func:`~sigma.unmixing.spectra.core_pixels`) and 17 rim pixels. Its mean
over all pixels then carries its host's lines (diopside in halite shows Na and Cl), and its
core mean is the sum of a few pixels' counts, so it is noisy. :func:`pure_spectra` uses every
pixel and removes what its neighbour contributes:

1. Each rim pixel ``i`` of cluster ``c`` (not a core pixel) is given the other cluster ``j``
   most common among its eight neighbours (:func:`boundary_neighbours`).
2. Its counts are modelled as ``n_i ((1 - f_i) p_c + f_i h_j)``: ``n_i`` its counts, ``p_c``
   the phase's spectrum shape (sums to 1), ``h_j`` the neighbour's core spectrum shape. The
   neighbour's share ``f_i`` is the weighted least-squares fit along ``h_j - p_c`` (weights
   ``1 / (p_c + h_j) / 2``, the Poisson variance of a pixel between the two, from the
   spectra smoothed over the detector resolution). It is not clipped per pixel (noise
   clipped at 0 would always remove some neighbour); the total
   removed from each cluster per neighbour is kept ``>= 0`` and, once the iterations have
   settled, only where it exceeds :data:`MIN_SIGNIFICANCE` standard errors of the counts'
   noise (two look-alike clusters would otherwise trade noise for a share).
3. ``p_c`` is the cluster's summed counts less the neighbours' fitted counts,
   ``sum_i x_i - sum_i n_i f_i h_j``; steps 2 and 3 alternate until the removed counts
   settle, starting from the core spectrum. The core pixels anchor the result: a cluster
   whose pixels are all rim pixels, each the same mixture, has nothing that tells its own
   spectrum from the mixture, and keeps its mean.

The pixel counts enter only through their products with a few spectra (one per neighbour
cluster, and the cluster's own sum), computed in one pass over the cube; the iterations then
run on those numbers. The result is a per-pixel mean: the corrected counts over the pixel
equivalents of the phase (its pixels less the removed counts over its mean counts per pixel).

Assumptions, and when the result is wrong:

* A rim pixel mixes its own phase with one neighbour; where three phases meet the second
  neighbour's share stays in.
* The neighbour's spectrum is its core spectrum: a neighbour without a core (itself a small
  inclusion) is represented by its mean over all its pixels.
* Two phases whose spectra differ little (look-alikes) give noisy shares, which the
  significance test then usually drops: their boundary mixing stays in.
* On a thin-sample (TEM) map the support film lies under every particle pixel, not only
  under its rim: use the net spectra (:mod:`sigma.unmixing.net`).

Examples
--------
A host (counts ``[900, 100]`` in each pixel) holding a 5x5 inclusion (``[100, 900]``) whose
16 rim pixels are 3:1 mixtures of inclusion and host (``[300, 700]``):

>>> import numpy as np
>>> lab = np.zeros((11, 11), int)
>>> lab[3:8, 3:8] = 1
>>> data = np.where(lab[..., None] == 1, [300.0, 700.0], [900.0, 100.0])
>>> data[4:7, 4:7] = [100.0, 900.0]
>>> data[lab == 1].mean(0).tolist()  # the mean over all its pixels
[228.0, 772.0]
>>> res = pure_spectra(data, lab)
>>> res.spectra.round(1).tolist()
[[900.0, 100.0], [100.0, 900.0]]
>>> res.neighbour_share.round(3).tolist()  # share of each cluster's counts removed
[0.0, 0.16]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from sigma._blocks import map_row_blocks
from sigma._errors import bad_value
from sigma.unmixing.spectra import cluster_spectra, core_means, core_pixels

__all__ = ["ITERATIONS", "MIN_SIGNIFICANCE", "WEIGHT_SMOOTHING_KEV", "PureSpectra", "boundary_neighbours", "pure_spectra",
           "weight_smoothing_channels"]

#: Most alternations of the share fit and the spectrum update. Each moves the estimate toward
#: the fixed point by the cluster's share of core pixels, so a cluster that is 90 % rim needs
#: tens of them; they run on a few numbers per pixel, not on the cube.
ITERATIONS = 100

#: A cluster's total removed as one neighbour's must exceed this many standard errors of the
#: counts' noise, once the iterations have settled; otherwise nothing is removed for that
#: neighbour.
MIN_SIGNIFICANCE = 3.0

#: Gaussian sigma (keV) of the smoothing of the weights' spectra: about the sigma of an SDD's
#: peaks (130 eV FWHM at Mn Ka is 55 eV).
WEIGHT_SMOOTHING_KEV = 0.05


def weight_smoothing_channels(energy=None) -> float:
    """:data:`WEIGHT_SMOOTHING_KEV` in channels of an energy axis (keV); 10 eV channels when
    the axis gives no step.

    Examples
    --------
    >>> weight_smoothing_channels([0.0, 0.02, 0.04]), weight_smoothing_channels()
    (2.5, 5.0)
    """
    e = np.asarray([] if energy is None else energy, dtype=np.float64)
    step = float(abs(e[1] - e[0])) if e.size > 1 else 0.0
    return WEIGHT_SMOOTHING_KEV / (step if step > 0 else 0.01)


@dataclass
class PureSpectra:
    """Result of :func:`pure_spectra`.

    Attributes
    ----------
    spectra : ndarray, shape (K, C)
        Per-pixel mean spectrum of each cluster with its neighbours' share of its rim pixels
        removed, aligned with ``cluster_ids``.
    cluster_ids : ndarray, shape (K,)
    neighbour_share : ndarray, shape (K,)
        Share of each cluster's counts given to its neighbours (0: nothing removed).
    removed : ndarray, shape (K, K)
        Counts removed from cluster ``c`` (row) as the spectrum of neighbour ``j`` (column):
        the result is ``(sums - removed @ neighbour_spectra) / pixel equivalents``.
    removed_counts : ndarray, shape (K, C)
        ``removed @ neighbour_spectra``: the counts of each cluster's sum that are its
        neighbours' (identification fits them as a known offset,
        :func:`sigma.identify.detect_elements`).
    pixel_share : ndarray, shape (H, W)
        Each rim pixel's fitted neighbour share ``f_i``, a least-squares value that noise can
        take below 0 or above 1 (0 on core pixels and unlabelled ones).

    Examples
    --------
    >>> lab = np.zeros((11, 11), int)
    >>> lab[3:8, 3:8] = 1
    >>> data = np.where(lab[..., None] == 1, [300.0, 700.0], [900.0, 100.0])
    >>> data[4:7, 4:7] = [100.0, 900.0]
    >>> res = pure_spectra(data, lab)
    >>> res.cluster_ids.tolist(), res.removed.round().tolist()  # 16 rims x 250 counts
    ([0, 1], [[0.0, 0.0], [4000.0, 0.0]])
    >>> float(res.pixel_share[3, 3].round(3)), float(res.pixel_share[5, 5])  # a rim, the core
    (0.25, 0.0)
    >>> res.removed_counts.round().tolist()  # cluster 1's rims hold 4000 counts of cluster 0
    [[0.0, 0.0], [3600.0, 400.0]]
    """

    spectra: np.ndarray
    cluster_ids: np.ndarray
    neighbour_share: np.ndarray
    pixel_share: np.ndarray
    removed: np.ndarray
    removed_counts: np.ndarray


def boundary_neighbours(labels) -> np.ndarray:
    """``(H, W)`` int: for each rim pixel, the other label most common among its eight
    neighbours; ``-1`` on core pixels, unlabelled ones and those touching only noise.

    Ties go to the smaller label.

    Examples
    --------
    >>> lab = np.array([[0, 0, 1], [0, 0, 1], [2, 2, 1]])
    >>> boundary_neighbours(lab).tolist()
    [[-1, 1, 0], [2, 1, 0], [0, 0, 0]]
    """
    lab = np.asarray(labels)
    k = int(lab.max(initial=-1)) + 1
    out = np.full(lab.shape, -1, dtype=np.int64)
    if k < 2:
        return out
    votes = np.zeros((*lab.shape, k), dtype=np.int8)
    rows, cols = np.indices(lab.shape)
    hgt, wid = lab.shape
    pad = np.pad(lab, 1, constant_values=-1)  # outside the map: no vote
    for dy, dx in ((0, 0), (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1), (2, 2)):
        nb = pad[dy : dy + hgt, dx : dx + wid]
        other = (nb >= 0) & (nb != lab)
        votes[rows[other], cols[other], nb[other]] += 1  # one neighbour per pixel and direction
    best = votes.argmax(-1)
    has = (votes.max(-1) > 0) & (lab >= 0)
    out[has] = best[has]
    return out


def _shape(s) -> np.ndarray:
    s = np.clip(np.asarray(s, dtype=np.float64), 0, None)
    return s / np.maximum(s.sum(-1, keepdims=True), 1e-300)


def pure_spectra(data, labels, cluster_ids=None, *, sums=None, core=None,
                 iterations: int = ITERATIONS, tolerance: float = 1e-6,
                 weight_smoothing: float | None = None, progress: bool = False) -> PureSpectra:
    """Per-pixel spectra of each cluster with its neighbours' share of its rim removed.

    See the module's description for the model.

    Parameters
    ----------
    data : array_like, shape (H, W, C)
        NumPy or dask spectrum cube (counts).
    labels : array_like of int, shape (H, W)
        Cluster labels; ``-1`` is noise.
    cluster_ids : array_like of int, optional
        Row order of the result; default: the sorted labels ``>= 0``.
    sums, core : ndarray, shape (K, C), optional
        Each cluster's summed counts and its core spectrum
        (``PixelSegmenter.get_cluster_spectra("sum")`` / ``("core")``), if already computed;
        otherwise they are computed here (one more pass).
    iterations : int
        Most alternations of the share fit and the spectrum update (:data:`ITERATIONS`).
    tolerance : float
        Stop when no removed count total moves by more than this share of the largest
        cluster's counts.
    weight_smoothing : float
        Gaussian sigma, in channels, of the smoothing of the spectra the fit's weights come
        from; 0: none. Default: :data:`WEIGHT_SMOOTHING_KEV` on 10 eV channels; pass
        :func:`weight_smoothing_channels` of the map's energy axis (as
        ``PixelSegmenter.get_pure_spectra`` does).
    progress : bool
        Progress bar (lazy cubes).

    Returns
    -------
    PureSpectra

    Examples
    --------
    Grains of three phases with blended boundaries and round inclusions; the inclusion's pure
    spectrum is closer to its phase's than its mean over all its pixels:

    >>> from sigma.synthetic import make_grain_phantom
    >>> from sigma.synthetic.metrics import spectral_angle
    >>> ph = make_grain_phantom((64, 64), n_phases=3, counts_per_pixel=80, n_channels=256,
    ...                         energy_scale=0.04, seed=4, inclusions=4)
    >>> res = pure_spectra(ph.spectra, ph.labels)
    >>> inc = ph.labels == 2
    >>> bool(spectral_angle(ph.phase_spectra[2], res.spectra[2])
    ...      < spectral_angle(ph.phase_spectra[2], ph.spectra[inc].sum(0)))
    True
    """
    lab = np.asarray(labels)
    if data.ndim != 3 or lab.shape != tuple(data.shape[:2]):
        raise bad_value("labels", lab.shape, f"the navigation shape of the spectra {tuple(data.shape[:2])}")
    if int(iterations) < 1:
        raise bad_value("iterations", iterations, "an integer >= 1")
    ids = np.unique(lab[lab >= 0]) if cluster_ids is None else np.asarray(cluster_ids, dtype=np.int64)
    k, c = len(ids), int(data.shape[2])
    order = np.argsort(ids, kind="stable")

    def position(a):  # row of each label in ids, -1 for noise and labels not in ids
        p = np.minimum(np.searchsorted(ids[order], a), max(k - 1, 0))
        return np.where((a >= 0) & (ids[order][p] == a), order[p], -1) if k else np.full(a.shape, -1)

    own_pos = position(lab)
    n_pix = np.bincount(own_pos[own_pos >= 0], minlength=k).astype(np.float64)
    is_core = core_pixels(lab)
    if sums is None or core is None:
        ids_all = np.concatenate([ids, ids + int(ids.max(initial=-1)) + 1])
        split = np.where(is_core, lab, np.where(lab >= 0, lab + int(ids.max(initial=-1)) + 1, -1))
        parts = cluster_spectra(data, split, ids_all, "sum", progress=progress).reshape(2, k, c)
        n_core = np.bincount(own_pos[(own_pos >= 0) & is_core], minlength=k).astype(np.float64)
        sums = parts.sum(0)
        core = core_means(parts[0], n_core, sums, n_pix)
    sums = np.asarray(sums, dtype=np.float64)
    h = _shape(core)  # the neighbours' spectra, and each cluster's start
    share = np.zeros(lab.shape, dtype=np.float64)
    out = PureSpectra(sums / np.maximum(n_pix, 1)[:, None], ids, np.zeros(k), share, np.zeros((k, k)),
                      np.zeros_like(sums))
    if k < 2:
        return out
    nb_pos = position(boundary_neighbours(lab))
    rim = (own_pos >= 0) & (nb_pos >= 0) & ~is_core
    if not rim.any():
        return out
    pair = own_pos * k + nb_pos  # the pixel's (cluster, neighbour) group
    pairs = np.unique(pair[rim])
    # fixed weights of each pair, 1 / mean of the two starting shapes; the pixels' counts are
    # used only through their products with the weighted own sum and neighbour shapes
    # (a floor of half a count of the cluster's sum keeps empty channels from dominating)
    # weights from the starting shapes smoothed over the detector resolution: a small core's
    # shape is mostly empty channels, and weights from it make the fit attenuate the shares
    # (the baryte inclusions of a 25-counts phantom: 0.09 of 0.17 fitted, 0.165 smoothed)
    if weight_smoothing is None:
        weight_smoothing = weight_smoothing_channels()
    smooth = h if weight_smoothing <= 0 else _shape(gaussian_filter1d(h, float(weight_smoothing), axis=1, mode="nearest"))
    floor = 0.5 / np.maximum(sums.sum(1), 1.0)
    weights = {int(p): 1.0 / (0.5 * (smooth[p // k] + smooth[p % k]) + floor[p // k]) for p in pairs}
    basis = np.concatenate([sums, h])  # (2K, C): own sums, then the neighbour shapes

    def work(blk, r0, r1):
        sel = rim[r0:r1]
        x = blk[sel].astype(np.float64, copy=False)
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        g = pair[r0:r1][sel]
        proj = np.zeros((len(g), k + 1))
        for p in np.unique(g):
            m = g == p
            w = weights[int(p)]
            proj[m, 0] = x[m] @ (w * basis[p // k])
            proj[m, 1:] = x[m] @ (w * basis[k:]).T
        return proj, x.sum(1)

    parts = map_row_blocks(work, data, desc="pure spectra", progress=progress)
    proj = np.concatenate([p[0] for p in parts])
    n_i = np.concatenate([p[1] for p in parts])
    g = pair[rim]  # row-major order, as the blocks
    ci, ji = g // k, g % k
    # per-pair constants: products of the own sum and the neighbour shapes under the pair's weights
    hwh = {}  # h_j' . (w h_j''), (K, K) per pair
    ah = np.zeros((k * k, k))  # A_c . (w h_j')
    aa = np.zeros(k * k)  # A_c . (w A_c)
    for p in pairs:
        w = weights[int(p)]
        hwh[p] = (w * h) @ h.T
        ah[p] = (w * sums[p // k]) @ h.T
        aa[p] = (w * sums[p // k]) @ sums[p // k]
    rows = np.arange(len(g))
    f_pair = np.zeros((k, k))  # F_cj: counts of neighbour j removed from cluster c
    f = np.zeros(len(g))
    for _ in range(int(iterations)):
        # p_c = (A_c - sum_j F_cj h_j) / S_c, used through its products only
        s_c = np.maximum(sums.sum(1) - f_pair.sum(1), 1e-300)
        fc = f_pair[ci]
        xp = (proj[:, 0] - (proj[:, 1:] * fc).sum(1)) / s_c[ci]  # x_i . (w p_c)
        xh = proj[rows, 1 + ji]  # x_i . (w h_j)
        # the pair's p_c . (w p_c), p_c . (w h_j) and h_j . (w h_j)
        pp_p, ph_p, hh_p = np.zeros(k * k), np.zeros(k * k), np.zeros(k * k)
        for p in pairs:
            cc, jj = p // k, p % k
            fv = f_pair[cc]
            pp_p[p] = (aa[p] - 2 * ah[p] @ fv + fv @ hwh[p] @ fv) / s_c[cc] ** 2
            ph_p[p] = (ah[p, jj] - fv @ hwh[p][:, jj]) / s_c[cc]
            hh_p[p] = hwh[p][jj, jj]
        pp, ph, hh = pp_p[g], ph_p[g], hh_p[g]
        den = pp - 2 * ph + hh  # (h_j - p_c) . w (h_j - p_c)
        num = (xh - xp) / np.maximum(n_i, 1e-300) - ph + pp  # (x_i / n_i - p_c) . w (h_j - p_c)
        # least squares, not clipped per pixel: clipping noise at 0 would remove some of the
        # neighbour from a pure cluster's rim; only each pair's total is kept >= 0
        f = np.where((den > 0) & (n_i > 0), num / np.where(den > 0, den, 1.0), 0.0)
        new = np.zeros((k, k))
        np.add.at(new, (ci, ji), n_i * f)
        new = np.clip(new, 0, None)
        done = np.abs(new - f_pair).max() <= tolerance * max(float(sums.sum(1).max()), 1.0)
        f_pair = new
        if done:
            break
    # a total is kept only where it stands out of its noise: two look-alike clusters (d near
    # 0) must not trade noise for a share. var(n_i f_i) = n_i sum(w^2 d^2 m) / (sum(w d^2))^2
    # for counts of shape m (the smoothed weights are not exactly 1 / m), taken at the start
    # shapes. Tested once converged: the first iterations see only part of the share (the core
    # pixels anchor the start)
    per_count = np.full(k * k, np.inf)
    for p in pairs:
        d0, m0 = h[p % k] - h[p // k], 0.5 * (h[p % k] + h[p // k])
        w = weights[int(p)]
        den0 = float((w * d0 * d0).sum())
        if den0 > 0:
            per_count[p] = float((w * w * d0 * d0 * m0).sum()) / den0**2
    var = np.zeros((k, k))
    np.add.at(var, (ci, ji), n_i * per_count[g])
    f_pair = np.where(f_pair > MIN_SIGNIFICANCE * np.sqrt(var), f_pair, 0.0)
    f = np.where(f_pair[ci, ji] > 0, f, 0.0)
    removed = f_pair @ h
    kept = np.clip(sums - removed, 0, None)
    equiv = n_pix - f_pair.sum(1) / np.maximum(sums.sum(1) / np.maximum(n_pix, 1), 1e-300)
    share[rim] = f
    return PureSpectra(kept / np.maximum(equiv, 1e-300)[:, None], ids,
                       f_pair.sum(1) / np.maximum(sums.sum(1), 1e-300), share, f_pair, removed)
