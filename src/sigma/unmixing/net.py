"""Film- and overlayer-corrected ("net") cluster spectra of thin-sample (TEM) maps.

In a TEM map the beam crosses the whole sample, so the X-rays of everything along its path
add up: the support film lies under every particle, and the core of a core–shell particle is
seen through its shell. A particle cluster's core spectrum
(:func:`sigma.unmixing.spectra.core_pixels`) is then film + particle, and a core's is film +
shell + core. :func:`net_spectra` makes the correction an analyst makes by hand:

1. **Film subtraction.** The support film's per-pixel spectrum is subtracted from the
   per-pixel core spectrum of every cluster brighter than it (counts add, and a film of uniform
   thickness gives the same counts per pixel under a particle as beside it).
2. **Peeling an enclosed phase.** A cluster whose boundary neighbours nearly all belong to one
   other non-film cluster (:func:`enclosing_clusters`) lies inside it in projection, so its
   pixels see the enclosing phase too: the enclosing cluster's net spectrum is subtracted,
   scaled by the largest factor that keeps the result non-negative within the counts' noise
   (:func:`peel_factor`).

Everything is a linear combination of the clusters' per-pixel core spectra:
``net = coefficients @ core``. The coefficients come from the counts; a benchmark can apply
them to noise-free spectra of the same pixels.

Assumptions, and when the result is wrong:

* The film has one thickness over the field of view, and every cluster brighter than it lies
  on it. A film that thickens, a hole in it, or a particle hanging over a hole breaks this.
* A peeled cluster holds none of the enclosing phase's own signal at some X-ray line of the
  enclosing phase (the factor is set where the remainder reaches zero). A core that truly
  shares all of its shell's elements (a silica core in a silica-rich shell, an oxide in an
  oxide shell with no line of its own) loses part of its own spectrum: its net spectrum is
  then too small at those lines. The remainder's own continuum under the enclosing phase's
  strongest line is removed with it (a small over-subtraction).
* Counts are Poisson: the noise of a per-pixel mean over ``n`` pixels is about
  ``sqrt(mean / n)``.

Examples
--------
A film (cluster 0, 1 count per pixel in each channel) round a particle (cluster 1, 5 counts):

>>> import numpy as np
>>> lab = np.zeros((9, 9), int)
>>> lab[3:6, 3:6] = 1
>>> core = np.array([[1.0, 1.0, 1.0, 1.0], [1.0, 5.0, 3.0, 1.0]])
>>> res = net_spectra(core, [72, 9], lab, window=1)
>>> int(res.film), res.spectra[1].tolist()
(0, [0.0, 4.0, 2.0, 0.0])
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from sigma._errors import bad_value

__all__ = [
    "NetSpectra",
    "cluster_contacts",
    "enclosing_clusters",
    "find_film",
    "net_pixels",
    "net_spectra",
    "peel_factor",
    "peel_hosts",
    "pick_film",
    "single_neighbour",
    "window_channels",
]

logger = logging.getLogger(__name__)

#: Defaults of the film rule (:func:`find_film`) and of peeling (:func:`enclosing_clusters`).
MIN_FILM_SHARE = 0.2
MIN_CONTRAST = 1.5
ON_FILM_SHARE = 0.5
MIN_ON_FILM = 0.75
ENCLOSED_SHARE = 0.8

_OFFSETS = ((0, 1), (1, 0), (1, 1), (1, -1))  # each 8-neighbour pair once


def _ids(lab, cluster_ids):
    return np.unique(lab[lab >= 0]) if cluster_ids is None else np.asarray(cluster_ids, dtype=np.int64)


def cluster_contacts(labels, cluster_ids=None) -> np.ndarray:
    """8-neighbour pixel pairs between clusters, shape ``(K, K + 1)``.

    ``out[i, j]`` counts the pairs of neighbouring pixels (horizontal, vertical and diagonal)
    of which one is in cluster ``cluster_ids[i]`` and the other in ``cluster_ids[j]``; the last
    column counts the neighbours that are in no listed cluster (noise, ``-1``). Pixels outside
    the map are not neighbours. The diagonal is 0.

    Parameters
    ----------
    labels : array_like of int, shape (H, W)
    cluster_ids : array_like of int, optional
        Default: the sorted labels >= 0.

    Returns
    -------
    ndarray of int64, shape (K, K + 1)

    Examples
    --------
    >>> cluster_contacts([[0, 0, 1], [0, 0, 1]]).tolist()
    [[0, 4, 0], [4, 0, 0]]
    """
    lab = np.asarray(labels)
    if lab.ndim != 2:
        raise bad_value("labels", lab.shape, "(H, W) labels")
    ids = _ids(lab, cluster_ids)
    k = len(ids)
    if k:
        pos = np.minimum(np.searchsorted(ids, lab), k - 1)
        idx = np.where(ids[pos] == lab, pos, k)  # k: in no listed cluster
    else:
        idx = np.zeros(lab.shape, np.int64)
    h, w = lab.shape
    out = np.zeros((k + 1) * (k + 1), np.int64)
    for dy, dx in _OFFSETS:
        a = idx[: h - dy, max(0, -dx) : w - max(0, dx)]
        b = idx[dy:, max(0, dx) : w + min(0, dx)]
        diff = a != b
        a, b = a[diff], b[diff]
        out += np.bincount(a * (k + 1) + b, minlength=out.size)
        out += np.bincount(b * (k + 1) + a, minlength=out.size)
    return out.reshape(k + 1, k + 1)[:k]


def _shares(contacts: np.ndarray) -> np.ndarray:
    """Each cluster's boundary shares: row-normalised contacts (0 for an isolated cluster)."""
    tot = contacts.sum(1, keepdims=True)
    return contacts / np.maximum(tot, 1)


def enclosing_clusters(contacts, *, exclude=(), enclosed_share: float = ENCLOSED_SHARE) -> np.ndarray:
    """Index of the cluster that encloses each cluster in projection, or -1.

    Cluster ``i`` is enclosed by ``j`` when at least ``enclosed_share`` of its boundary
    neighbour pairs (:func:`cluster_contacts`, noise included) are with ``j``, neither is in
    ``exclude`` (the film), and ``j`` is not itself enclosed by ``i`` (two clusters that only
    touch each other: neither is peeled).

    Parameters
    ----------
    contacts : ndarray, shape (K, K + 1)
    exclude : iterable of int
        Indices that enclose nothing (the film).
    enclosed_share : float

    Returns
    -------
    ndarray of int, shape (K,)

    Examples
    --------
    >>> lab = np.zeros((9, 9), int); lab[2:7, 2:7] = 1; lab[4, 4] = 2
    >>> enclosing_clusters(cluster_contacts(lab), exclude=[0]).tolist()
    [-1, -1, 1]
    """
    c = np.asarray(contacts)
    k = c.shape[0]
    share = _shares(c)[:, :k]
    for j in exclude:
        share[:, int(j)] = 0.0  # encloses nothing
        share[int(j), :] = 0.0  # and is inside nothing
    best = share.argmax(1) if k else np.zeros(0, int)
    host = np.where(share[np.arange(k), best] >= enclosed_share, best, -1) if k else best
    mutual = (host >= 0) & (host[np.maximum(host, 0)] == np.arange(k))
    return np.where(mutual, -1, host)


def find_film(contacts, counts_per_pixel, sizes, *, min_share: float = MIN_FILM_SHARE,
              min_contrast: float = MIN_CONTRAST, on_film_share: float = ON_FILM_SHARE,
              min_on_film: float = MIN_ON_FILM, enclosed_share: float = ENCLOSED_SHARE,
              cluster_ids=None):
    """The support film among the clusters of a thin-sample map, or ``None`` with the reason.

    The rule, in the order it is checked:

    1. Candidates are the *large* clusters, at least ``min_share`` of the labelled pixels, from
       the one with the fewest counts per pixel up.
    2. A cluster is *on* a candidate when at least ``on_film_share`` of its boundary neighbour
       pairs are with the candidate, or when it is enclosed (:func:`enclosing_clusters`) by a
       cluster that is on it (a core inside its shell).
    3. The first candidate with at least ``min_on_film`` of the other clusters on it, each with
       at least ``min_contrast`` times its counts per pixel (counts add: a particle on the film
       has the film's counts and its own), is the film.

    A map of grains (SEM, or a TEM section without a film) fails step 2 (a grain's neighbours
    are spread over several phases) or step 3 (a phase is not 1.5× brighter than its
    neighbours); a TEM map whose clusters sit on a vacuum hole rather than on a film fails too.

    Parameters
    ----------
    contacts : ndarray, shape (K, K + 1)
        :func:`cluster_contacts` of the labels.
    counts_per_pixel : array_like, shape (K,)
        Mean counts per pixel of each cluster (its core spectrum's total).
    sizes : array_like, shape (K,)
        Pixels per cluster.
    min_share, min_contrast, on_film_share, min_on_film, enclosed_share : float
    cluster_ids : array_like of int, optional
        The clusters' ids, for the reason (default: their row numbers).

    Returns
    -------
    index : int or None
        Row of the film in ``contacts``.
    reason : str
        Why that cluster, or why none.

    Examples
    --------
    >>> lab = np.zeros((12, 12), int); lab[2:5, 2:5] = 1; lab[7:10, 6:9] = 2
    >>> find_film(cluster_contacts(lab), [2.0, 9.0, 7.0], [126, 9, 9])[0]
    0
    >>> find_film(cluster_contacts(lab), [8.0, 9.0, 7.0], [126, 9, 9])[0] is None
    True
    """
    c = np.asarray(contacts)
    k = c.shape[0]
    cpp = np.asarray(counts_per_pixel, dtype=np.float64)
    sizes = np.asarray(sizes, dtype=np.float64)
    if k < 2:
        return None, f"{k} cluster(s): no film to tell apart"
    share = _shares(c)[:, :k]
    large = np.flatnonzero(sizes >= min_share * max(sizes.sum(), 1))
    if not len(large):
        return None, f"no cluster holds {min_share:.0%} of the pixels"
    name = np.arange(k) if cluster_ids is None else np.asarray(cluster_ids)
    why = []
    for f in large[np.argsort(cpp[large], kind="stable")]:
        on = share[:, f] >= on_film_share
        on[f] = False
        host = enclosing_clusters(c, exclude=[f], enclosed_share=enclosed_share)
        for _ in range(k):  # enclosed by a cluster on the film: on it too (through the host)
            more = (host >= 0) & on[np.maximum(host, 0)] & ~on
            more[f] = False
            if not more.any():
                break
            on |= more
        brighter = on & (cpp >= min_contrast * cpp[f])
        need = int(np.ceil(min_on_film * (k - 1)))
        if brighter.sum() >= need:
            return int(f), (f"cluster {name[f]}: {int(brighter.sum())} of the {k - 1} others lie on it "
                            f"and are >= {min_contrast}x brighter")
        why.append(f"cluster {name[f]}: {int(brighter.sum())} of {k - 1} others on it and brighter, need {need}")
    return None, "no cluster qualifies as the film (" + "; ".join(why) + ")"


def window_channels(energy_axis, width_kev: float = 0.1) -> int:
    """Channels in a ``width_kev`` window of an energy axis (the width of a low-energy line).

    Examples
    --------
    >>> window_channels(np.arange(0, 2, 0.01))
    10
    """
    e = np.asarray(energy_axis, dtype=np.float64)
    step = abs(float(e[1] - e[0])) if e.size > 1 else width_kev
    return max(1, int(round(width_kev / step))) if step > 0 else 1


def _window_sums(v: np.ndarray, w: int) -> np.ndarray:
    """Moving sums of ``w`` channels along the last axis (``C - w + 1`` of them)."""
    w = min(max(int(w), 1), v.shape[-1])
    c = np.cumsum(v, axis=-1)
    c = np.concatenate([np.zeros(v.shape[:-1] + (1,)), c], axis=-1)
    return c[..., w:] - c[..., :-w]


def peel_factor(x_coef, host_coef, core, variance, *, window: int = 10, z: float = 2.0,
                z_host: float = 3.0) -> float:
    """Largest ``a`` with ``(x_coef - a * host_coef) @ core`` non-negative within its noise.

    The spectra are summed over moving windows of ``window`` channels (about a line's width),
    so no single channel sets the factor, and only windows where the host is significant
    (``H > z_host * sd(H)``) count. Two steps:

    1. In each window the factor that zeroes the remainder is ``r = X / H``; its upper
       confidence bound ``r + z * sd`` (``sd`` from the Poisson variance of every core
       spectrum in the combination) is the most that window allows, a remainder ``z``
       standard deviations below zero being still consistent with zero. The smallest bound
       over the windows is a first factor ``a0``.
    2. The windows where the remainder at ``a0`` is not significantly above zero (under
       ``z * sd``) hold the host's signal alone (the peeled phase has no line there); the
       factor is refitted over them by weighted least squares (``X = a H``), twice. This uses
       every such window, not the one that happened to set the bound, so the factor carries
       the noise of the host's whole lines rather than the selection bias of a minimum.

    The factor is 0 when the host is significant nowhere.

    Parameters
    ----------
    x_coef, host_coef : ndarray, shape (K,)
        The remainder's and the host's spectra as combinations of the core spectra.
    core, variance : ndarray, shape (K, C)
        Per-pixel core spectra and the variance of each channel's mean.
    window : int
    z, z_host : float

    Returns
    -------
    float

    Examples
    --------
    >>> core = np.array([[0.0, 0.0, 100.0, 0.0], [10.0, 10.0, 50.0, 20.0]])
    >>> round(peel_factor(np.array([0.0, 1.0]), np.array([1.0, 0.0]), core, core * 0 + 1e-9,
    ...                   window=1), 3)
    0.5
    """
    xc, hc = np.asarray(x_coef, dtype=np.float64), np.asarray(host_coef, dtype=np.float64)
    xw = _window_sums(xc @ core, window)
    hw = _window_sums(hc @ core, window)
    vw = _window_sums(np.asarray(variance, dtype=np.float64), window)  # (K, n windows)
    use = (hw > 0) & (hw > z_host * np.sqrt((hc[:, None] ** 2 * vw).sum(0)))
    if not use.any():
        return 0.0
    xw, hw, vw = xw[use], hw[use], vw[:, use]

    def sd_at(a):  # sd of the remainder X - a H in each window
        return np.sqrt(((xc[:, None] - a * hc[:, None]) ** 2 * vw).sum(0))

    r = xw / hw
    a = max(0.0, float((r + z * sd_at(r) / hw).min()))
    for _ in range(2):
        sd = np.maximum(sd_at(a), 1e-300)
        claim = xw - a * hw < z * sd
        if not claim.any():
            break
        wt = hw[claim] / sd[claim] ** 2
        a = max(0.0, float((wt * xw[claim]).sum() / (wt * hw[claim]).sum()))
    return a


def single_neighbour(labels) -> np.ndarray:
    """``(H, W)`` int: the one label, other than its own, among each pixel's eight neighbours.

    ``-2`` where every neighbour (inside the map) shares the pixel's label (a core pixel,
    :func:`sigma.unmixing.spectra.core_pixels`) and ``-3`` where there are several other
    labels or the pixel is unlabelled; ``-1`` is the noise label, as a neighbour.

    Examples
    --------
    >>> single_neighbour([[0, 0, 0, 1], [0, 0, 0, 2], [0, 0, 0, 0]]).tolist()
    [[-2, -2, -3, -3], [-2, -2, -3, -3], [-2, -2, 2, 2]]
    """
    from .spectra import neighbour_views

    lab = np.asarray(labels)
    big = np.iinfo(np.int64).max
    lo = np.full(lab.shape, big, np.int64)
    hi = np.full(lab.shape, -big, np.int64)
    for nb in neighbour_views(lab):  # outside the map: the pixel's own label, not a neighbour
        other = nb != lab
        lo = np.where(other, np.minimum(lo, nb), lo)
        hi = np.where(other, np.maximum(hi, nb), hi)
    out = np.where(lo == big, -2, np.where(lo == hi, lo, -3))
    return np.where(lab >= 0, out, -3)


def net_pixels(labels, film, hosts=None) -> np.ndarray:
    """``(H, W)`` bool: the pixels of each cluster's net spectrum.

    A cluster's core pixels (all eight neighbours in it,
    :func:`sigma.unmixing.spectra.core_pixels`), and its pixels whose only other neighbouring
    cluster is the film, or the cluster it is peeled from (``hosts``). Boundary pixels hold some
    of the phase next to them, but what they hold of the film is subtracted with the rest of
    the film, and what a core's rim holds of its shell is peeled with the rest of the shell
    (counts add; the factor is fitted to the mean of these very pixels). So a thin shell keeps
    its outer ring and a small core its rim, which ``core_pixels`` drop. Pixels next to a third
    phase, and the film's own pixels next to a particle, are left out. ``film=None`` and no
    hosts: :func:`~sigma.unmixing.spectra.core_pixels`.

    Parameters
    ----------
    labels : array_like of int, shape (H, W)
    film : int or None
        The film's cluster id.
    hosts : dict, optional
        ``{cluster id: id of the cluster it is peeled from}`` (:func:`peel_hosts`).

    Examples
    --------
    >>> lab = np.zeros((5, 6), int); lab[1:4, 1:3] = 1; lab[1:4, 3:5] = 2
    >>> net_pixels(lab, 0)[1:4].astype(int).tolist()
    [[0, 1, 0, 0, 1, 0], [0, 1, 0, 0, 1, 0], [0, 1, 0, 0, 1, 0]]
    >>> net_pixels(lab, 0, {1: 2})[1:4].astype(int).tolist()
    [[0, 1, 0, 0, 1, 0], [0, 1, 1, 0, 1, 0], [0, 1, 0, 0, 1, 0]]
    """
    lab = np.asarray(labels)
    o = single_neighbour(lab)
    out = o == -2
    if film is not None:
        out |= o == int(film)
    if hosts:
        ids = np.asarray(sorted(hosts), dtype=np.int64)
        pos = np.minimum(np.searchsorted(ids, lab), len(ids) - 1)
        hmap = np.where(ids[pos] == lab, np.asarray([hosts[i] for i in ids.tolist()])[pos], -3)
        out |= (o == hmap) & (hmap >= 0)
    return out


def peel_hosts(labels, cluster_ids=None, film=None, *, enclosed_share: float = ENCLOSED_SHARE) -> dict:
    """``{cluster id: id of the cluster enclosing it}`` (:func:`enclosing_clusters`, the film
    excluded): the clusters :func:`net_spectra` peels.

    Examples
    --------
    >>> lab = np.zeros((9, 9), int); lab[2:7, 2:7] = 1; lab[4, 4] = 2
    >>> peel_hosts(lab, film=0)
    {2: 1}
    """
    lab = np.asarray(labels)
    ids = _ids(lab, cluster_ids)
    excl = [] if film is None else np.flatnonzero(ids == film).tolist()
    host = enclosing_clusters(cluster_contacts(lab, ids), exclude=excl, enclosed_share=enclosed_share)
    return {int(ids[i]): int(ids[h]) for i, h in enumerate(host) if h >= 0}


@dataclass(frozen=True)
class NetSpectra:
    """Result of :func:`net_spectra`.

    Attributes
    ----------
    spectra : ndarray, shape (K, C)
        Net per-pixel spectrum of each cluster (``coefficients @ core``); noise can make
        single channels slightly negative (they are not clipped, which would bias them).
    coefficients : ndarray, shape (K, K)
        Each net spectrum as a combination of the input spectra.
    cluster_ids : ndarray, shape (K,)
    film : int or None
        The film's cluster id.
    film_reason : str
        Why that cluster is the film, or why there is none.
    hosts : dict
        ``{cluster id: id of the cluster it was peeled from}``.
    factors : dict
        ``{cluster id: factor of the host's net spectrum subtracted}``.

    Examples
    --------
    >>> lab = np.zeros((6, 6), int); lab[2:4, 2:4] = 1
    >>> res = net_spectra(np.array([[1.0, 1.0], [1.0, 4.0]]), [32, 4], lab, film=0)
    >>> res.film, res.coefficients.tolist(), res.spectra.tolist()
    (0, [[1.0, 0.0], [-1.0, 1.0]], [[1.0, 1.0], [0.0, 3.0]])
    """

    spectra: np.ndarray
    coefficients: np.ndarray
    cluster_ids: np.ndarray
    film: int | None
    film_reason: str
    hosts: dict = field(default_factory=dict)
    factors: dict = field(default_factory=dict)


_RULE = ("min_share", "min_contrast", "on_film_share", "min_on_film", "enclosed_share")


def pick_film(core, labels, cluster_ids=None, film="auto", **film_rule):
    """The film's cluster id (or ``None``) and the reason, for :func:`net_spectra`.

    Parameters
    ----------
    core : array_like, shape (K, C)
        Per-pixel core spectra (their totals are the counts per pixel of the rule).
    labels : array_like of int, shape (H, W)
    cluster_ids : array_like of int, optional
    film : 'auto', int or None
        ``'auto'``: :func:`find_film`; an id: that cluster; ``None``: no film.
    **film_rule
        Settings of :func:`find_film`.

    Returns
    -------
    film : int or None
    reason : str

    Examples
    --------
    >>> lab = np.zeros((12, 12), int); lab[2:5, 2:5] = 1; lab[7:10, 6:9] = 3
    >>> pick_film([[2.0], [9.0], [7.0]], lab)
    (0, 'cluster 0: 2 of the 2 others lie on it and are >= 1.5x brighter')
    """
    lab = np.asarray(labels)
    ids = _ids(lab, cluster_ids)
    unknown = set(film_rule) - set(_RULE)
    if unknown:
        raise bad_value("film_rule", sorted(unknown)[0], "one of " + ", ".join(_RULE))
    if film is None:
        return None, "no film (film=None)"
    if isinstance(film, str) and film == "auto":
        x = np.asarray(core, dtype=np.float64)
        sizes = np.bincount(np.searchsorted(ids, lab[np.isin(lab, ids)]), minlength=len(ids))
        f, reason = find_film(cluster_contacts(lab, ids), x.sum(1), sizes, cluster_ids=ids, **film_rule)
        return (None if f is None else int(ids[f])), reason
    if isinstance(film, (int, np.integer)) and not isinstance(film, bool) and int(film) in set(ids.tolist()):
        return int(film), f"cluster {int(film)} given as the film"
    raise bad_value("film", film, f"'auto', None or a cluster id among {ids.tolist()}")


def net_spectra(core, n_pixels, labels, cluster_ids=None, *, film="auto", peel: bool = True,
                variance=None, window: int = 10, z: float = 2.0, **film_rule) -> NetSpectra:
    """Film-subtracted, overlayer-peeled per-pixel spectra of the clusters of a TEM map.

    See the module docstring for the physics and its assumptions. The input is best the mean
    over each cluster's :func:`net_pixels` (its core pixels and its rim on the film), which is
    what ``PixelSegmenter.get_cluster_spectra("net")`` passes.

    Parameters
    ----------
    core : array_like, shape (K, C)
        Per-pixel spectra in counts, one per cluster.
    n_pixels : array_like, shape (K,)
        Pixels each spectrum is the mean of (its noise).
    labels : array_like of int, shape (H, W)
        The cluster map (adjacency and cluster sizes).
    cluster_ids : array_like of int, optional
        Row order of ``core``; default the sorted labels >= 0.
    film : 'auto', int or None
        The film's cluster id; ``'auto'``: :func:`find_film` on ``core`` (none found: no film
        is subtracted, and the reason is in the result); ``None``: no film.
    peel : bool
        Peel enclosed clusters (:func:`enclosing_clusters`, :func:`peel_factor`). With no
        film, a particle that a film cluster surrounds is peeled off it like a core off its
        shell (the factor fitted rather than 1).
    variance : array_like, shape (K, C), optional
        Variance of each channel of ``core``; default Poisson, ``(core + 1 / n) / n`` with
        ``n = n_pixels`` (the one count added keeps a channel that saw no counts from
        claiming no noise).
    window : int
        Channels summed to set a peeling factor (:func:`window_channels`).
    z : float
        Noise allowance of the peeling factor, in standard deviations.
    **film_rule
        ``min_share``, ``min_contrast``, ``on_film_share``, ``min_on_film``, ``enclosed_share``
        of :func:`find_film` (``enclosed_share`` is also the peeling rule's).

    Returns
    -------
    NetSpectra

    Examples
    --------
    A magnetite-like core (channels 1-2) inside a silica-like shell (channel 3) on a film
    (channel 0):

    >>> lab = np.zeros((15, 15), int); lab[3:12, 3:12] = 1; lab[6:9, 6:9] = 2
    >>> core = np.array([[2.0, 0, 0, 0], [2.0, 0, 0, 8.0], [2.0, 5.0, 5.0, 4.0]])
    >>> res = net_spectra(core, [144, 72, 9], lab, variance=np.full((3, 4), 1e-9), window=1)
    >>> res.film, res.hosts, res.spectra[2].round(6).tolist()
    (0, {2: 1}, [0.0, 5.0, 5.0, 0.0])
    """
    x = np.asarray(core, dtype=np.float64)
    lab = np.asarray(labels)
    ids = _ids(lab, cluster_ids)
    k = len(ids)
    n = np.asarray(n_pixels, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != k or n.shape != (k,):
        raise bad_value("core", x.shape, f"({k}, C) spectra with n_pixels of shape ({k},), one per cluster")
    film_id, reason = pick_film(x, lab, ids, film, **film_rule)
    if variance is None:  # Poisson, from the counts + 1 (a channel that saw 0 counts is not exact)
        n1 = np.maximum(n, 1)[:, None]
        var = (np.maximum(x, 0) + 1 / n1) / n1
    else:
        var = np.asarray(variance, dtype=np.float64)
    cpp = x.sum(1)
    coef = np.eye(k)
    f = None if film_id is None else int(np.flatnonzero(ids == film_id)[0])
    if f is not None:
        over = cpp > cpp[f]  # a cluster darker than the film (a hole) is not on it
        over[f] = False
        coef[over, f] = -1.0
        if (~over).sum() > 1:
            logger.info("net spectra: clusters %s are not brighter than the film; left as they are",
                        ids[~over & (np.arange(k) != f)].tolist())
    hosts, factors = {}, {}
    if peel and k:
        enc_kw = {"enclosed_share": film_rule["enclosed_share"]} if "enclosed_share" in film_rule else {}
        host = enclosing_clusters(cluster_contacts(lab, ids), exclude=[] if f is None else [f], **enc_kw)
        done = host < 0
        for _ in range(k):  # hosts first: a chain of enclosures is peeled from the outside in
            ready = ~done & done[np.maximum(host, 0)]
            if not ready.any():
                break
            for i in np.flatnonzero(ready):
                a = peel_factor(coef[i], coef[host[i]], x, var, window=window, z=z)
                coef[i] = coef[i] - a * coef[host[i]]
                hosts[int(ids[i])], factors[int(ids[i])] = int(ids[host[i]]), a
            done |= ready
    return NetSpectra(spectra=coef @ x, coefficients=coef, cluster_ids=ids, film=film_id,
                      film_reason=reason, hosts=hosts, factors=factors)
