"""Kernels of the count model behind ``n_components='auto'`` (see :mod:`sigma.clustering.auto_k`).

Pixels are rows of band counts ``y`` (``(N, B)`` float32, from
:func:`sigma.preprocessing.spectral_features.band_counts`); a phase is a spectrum ``p_k`` (band
fractions) and a pixel of phase ``k`` has multinomial counts with probabilities ``p_k``. All
log-likelihoods below leave out the multinomial coefficient, which does not depend on the phase.
Labels live on the ``(H, W)`` grid, ``-1`` marking pixels left out (no vote, no fit).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from .._errors import bad_value

# ``interior(lab2d)``: pixels whose 8 neighbours (inside the map) all share their label; the
# same pixels make a cluster's core spectrum (one implementation, without a (H, W, K) vote)
from ..unmixing.spectra import core_pixels as interior  # noqa: F401

#: Pseudo-count added to every band of a summed spectrum (no log of zero).
PSEUDO = 0.5
#: Shares of the majority phase tried for a pixel that mixes two phases.
ALPHAS = (0.9, 0.8, 0.7, 0.6, 0.52)
#: Elements of one block of ``(rows, K, K)`` mixture log-likelihoods per share (float32).
_SHARE_BLOCK = 1 << 21


def _simplex(step: float = 0.05) -> np.ndarray:
    n = int(round(1 / step))
    pts = [(i / n, j / n, (n - i - j) / n) for i in range(n + 1) for j in range(n + 1 - i)]
    return np.array(pts)


_W3 = _simplex()
_W2 = np.c_[np.linspace(0, 1, 51), 1 - np.linspace(0, 1, 51)]


def log_spectra(sums) -> np.ndarray:
    """``log`` of band fractions of summed counts ``(K, B)`` (pseudo-count added), float32."""
    s = np.asarray(sums, dtype=np.float64) + PSEUDO
    return np.log(s / s.sum(1, keepdims=True)).astype(np.float32)


def log_weights(n) -> np.ndarray:
    """``log`` of mixture weights from pixel counts per component, float32."""
    n = np.asarray(n, dtype=np.float64) + 1e-3
    return np.log(n / n.sum()).astype(np.float32)


def _logsumexp(s):
    m = s.max(1, keepdims=True)
    return (m + np.log(np.exp(s - m).sum(1, keepdims=True)))[:, 0]


def _posterior(s, ll):
    """``exp(s - ll)`` with shares below e^-60 set to exactly 0: denormal floats would make
    the following matrix products a hundred times slower."""
    d = s - ll[:, None]
    return np.where(d > -60.0, np.exp(np.maximum(d, -60.0)), 0.0).astype(np.float32)


def em(y, logp, logpi, iters: int = 20, tol: float = 1e-7):
    """EM of a multinomial mixture: ``(logp, logpi, responsibilities, log-likelihood)``."""
    prev = -np.inf
    for _ in range(int(iters)):
        s = y @ logp.T + logpi
        ll = _logsumexp(s)
        r = _posterior(s, ll)
        logp, logpi = log_spectra(r.T @ y), log_weights(r.sum(0))
        cur = float(ll.sum())
        if cur - prev <= tol * abs(cur):
            break
        prev = cur
    s = y @ logp.T + logpi
    ll = _logsumexp(s)
    return logp, logpi, _posterior(s, ll), float(ll.sum())


def merge_cost(sums) -> tuple[float, int, int]:
    """The pair of components whose merge loses least: ``(G, a, b)``, G the likelihood-ratio
    statistic of "one spectrum" against "two spectra" on their summed counts."""
    s = np.asarray(sums, dtype=np.float64)
    lp = np.log((s + PSEUDO) / (s + PSEUDO).sum(1, keepdims=True))
    own = (s * lp).sum(1)
    best = (np.inf, 0, 1)
    for a in range(len(s) - 1):
        m = s[a] + s[a + 1 :]
        lm = np.log((m + PSEUDO) / (m + PSEUDO).sum(1, keepdims=True))
        g = 2 * (own[a] + own[a + 1 :] - (m * lm).sum(1))
        j = int(np.argmin(g))
        if g[j] < best[0]:
            best = (float(g[j]), a, a + 1 + j)
    return best


def two_sample_g(a, b) -> float:
    """Likelihood-ratio statistic ``G`` of "one spectrum" against "two spectra" for two sets of
    counts ``a``, ``b`` (B,), without pseudo-counts (``0 log 0 = 0``): chi-square with ``B - 1``
    degrees of freedom when both are drawn from one spectrum (and the expected counts are not
    too small).

    Examples
    --------
    >>> two_sample_g([10, 20, 30], [20, 40, 60])
    0.0
    >>> round(two_sample_g([30, 20, 10], [10, 20, 30]), 2)
    20.93
    """
    x = np.stack([np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)])
    q = x.sum(0) / max(x.sum(), 1e-300)
    e = x.sum(1, keepdims=True) * q[None]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(x > 0, x * np.log(x / np.where(e > 0, e, 1.0)), 0.0)
    return float(2 * t.sum())


def mixture_deviance(counts, spectra) -> float:
    """Deviance of summed ``counts`` (B,) from the best convex mixture of two or three rows of
    ``spectra`` (band fractions), over every pair and triple of rows (grid of shares)."""
    s = np.asarray(counts, dtype=np.float64)
    p = np.asarray(spectra, dtype=np.float64)
    n = s.sum()
    if n <= 0 or len(p) < 2:
        return np.inf
    ls = np.log((s + 1e-12) / n)
    best = np.inf
    for r, wts in ((2, _W2), (3, _W3)):
        for idx in combinations(range(len(p)), r):
            q = wts @ p[list(idx)]
            g = 2 * ((ls[None] - np.log(np.maximum(q, 1e-300))) @ s)
            best = min(best, float(g.min()))
    return best


def mixture_weights(counts, spectra, iters: int = 200) -> np.ndarray:
    """Shares ``(R,)`` of the rows of ``spectra`` ``(R, B)`` (band fractions) in the convex
    mixture most likely to give the summed ``counts`` (B,): maximum likelihood by EM, from
    equal shares.

    Examples
    --------
    >>> p = np.array([[0.8, 0.2], [0.2, 0.8]])
    >>> mixture_weights([650, 350], p).round(3).tolist()
    [0.75, 0.25]
    """
    s = np.asarray(counts, dtype=np.float64)
    p = np.maximum(np.asarray(spectra, dtype=np.float64), 1e-300)
    w = np.full(len(p), 1.0 / len(p))
    n = max(s.sum(), 1e-300)
    for _ in range(int(iters)):
        w = w * (p @ (s / np.maximum(w @ p, 1e-300))) / n
    return w


def mix_spectra(weights, spectra, rate_band: bool = False) -> np.ndarray:
    """Band fractions ``(M, B)`` of the mixtures ``weights`` ``(M, R)`` of ``spectra`` ``(R, B)``.

    Without a count-rate band the fractions are mixed. With one (the last band), a weight is a
    share of the X-ray counts: the spectral shapes (bands without the rate band, renormalised)
    are mixed with the weights, and so are the rate fractions (see :func:`_pair_mixture`).

    Examples
    --------
    >>> p = np.array([[0.5, 0.5, 0.0], [0.0, 0.2, 0.8]])
    >>> mix_spectra(np.array([[0.5, 0.5]]), p).round(3).tolist()
    [[0.25, 0.35, 0.4]]
    >>> mix_spectra(np.array([[0.5, 0.5]]), p, rate_band=True).round(3).tolist()
    [[0.15, 0.45, 0.4]]
    """
    w = np.asarray(weights, dtype=np.float64)
    p = np.asarray(spectra, dtype=np.float64)
    if not rate_band:
        return w @ p
    q = p[:, -1]
    shape = p[:, :-1] / np.maximum(1.0 - q, 1e-300)[:, None]
    mq = w @ q
    return np.concatenate([(1.0 - mq)[:, None] * (w @ shape), mq[:, None]], axis=1)


def pixel_mixture_gain(y, spectra, own: int, neighbours, rate_band: bool = False) -> float:
    """``G = 2 sum_i [log L_i(own) - max log L_i(mixture)]`` over the pixels ``y`` ``(n, B)``:
    how much better the spectrum ``spectra[own]`` explains each pixel than the best mixture
    of two or three of the ``neighbours``' spectra *chosen for that pixel* (shares on a grid).

    A band of boundary pixels mixes its neighbours in shares that vary from pixel to pixel:
    per-pixel mixtures explain it better than one spectrum (``G < 0``). A phase of its own
    (a thin shell round a core, a rim) is explained better by its spectrum, even when the
    mixture of its *summed* counts comes close. Compare with the chi-square critical value.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a, b, c = rng.dirichlet(np.ones(8), 3)
    >>> t = rng.random((200, 1))
    >>> band = rng.poisson(50 * (t * a + (1 - t) * b)).astype(float)
    >>> p = np.stack([a, b, 0.5 * (a + b)])
    >>> pixel_mixture_gain(band, p, 2, [0, 1]) < 0
    True
    >>> own = rng.poisson(50 * c, (200, 8)).astype(float)
    >>> pixel_mixture_gain(own, np.stack([a, b, c]), 2, [0, 1]) > 100
    True
    """
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(spectra, dtype=np.float64)
    nb = [int(j) for j in neighbours]
    mine = y @ np.log(np.maximum(p[own], 1e-300))
    best = np.full(len(y), -np.inf)
    for r, wts in ((2, _W2), (3, _W3)):
        for idx in combinations(nb, r):
            q = np.log(np.maximum(mix_spectra(wts, p[list(idx)], rate_band), 1e-300))
            best = np.maximum(best, (y @ q.T).max(1))
    return float(2 * (mine - best).sum())


def deviance_to_nearest(counts, spectra) -> float:
    """Deviance of summed ``counts`` from the nearest single spectrum among ``spectra``."""
    s = np.asarray(counts, dtype=np.float64)
    n = s.sum()
    if n <= 0:
        return 0.0
    ls = np.log((s + 1e-12) / n)
    lp = np.log(np.maximum(np.asarray(spectra, dtype=np.float64), 1e-300))
    return float((2 * ((ls[None] - lp) @ s)).min())


def mixture_ratio(counts, spectra, neighbours) -> tuple[float, float, float]:
    """``(rho, sep, mix)`` of summed ``counts``: ``sep`` their deviance from the nearest row of
    ``spectra``, ``mix`` from the best mixture of the ``neighbours`` spectra (``sep`` with
    fewer than two), and ``rho = mix / sep``: well below 1 when the counts are a mixture of
    their neighbours rather than a phase of their own.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([[0.8, 0.2], [0.2, 0.8]])
    >>> round(mixture_ratio([500, 500], p, p)[0], 3)  # half of each: a mixture
    0.0
    """
    sep = deviance_to_nearest(counts, spectra)
    mix = mixture_deviance(counts, neighbours) if len(neighbours) >= 2 else sep
    return mix / max(sep, 1e-9), sep, mix


# ----------------------------------------------------------------------------- the grid
def one_hot(lab2d, k) -> np.ndarray:
    """``(H, W, K)`` bool; label ``-1`` is all False."""
    return lab2d[..., None] == np.arange(k)


def _sum8(a, axes) -> np.ndarray:
    """Sums of ``a`` over each pixel's 8 neighbours (zero outside the map); ``axes`` are the
    map's (row, column) axes of ``a``, any others are carried along."""
    pad = [(0, 0)] * a.ndim
    for ax in axes:
        pad[ax] = (1, 1)
    t = np.pad(a, pad)
    for ax in reversed(axes):  # columns, then rows
        n = a.shape[ax]
        cut = [slice(None)] * a.ndim
        parts = []
        for lo in range(3):
            cut[ax] = slice(lo, lo + n)
            parts.append(t[tuple(cut)])
        t = parts[0] + parts[1] + parts[2]
    t -= a
    return t


def neighbour_votes(lab2d, k) -> np.ndarray:
    """``(H, W, K)`` float32: how many of each pixel's 8 neighbours carry each label."""
    return _sum8(one_hot(lab2d, k).astype(np.float32), (0, 1))


def present(lab2d, k, radius: int = 2) -> np.ndarray:
    """``(H, W, K)`` bool: label present within ``radius`` pixels (a square window)."""
    from scipy.ndimage import maximum_filter

    size = 2 * int(radius) + 1
    return maximum_filter(one_hot(lab2d, k), size=(size, size, 1), mode="constant")


def _pair_mixture(p, a, rate_band: bool) -> np.ndarray:
    """``(K, K, B)`` band fractions of ``a`` of phase ``k`` and ``1 - a`` of phase ``j``.

    Without a count-rate band the fractions themselves are mixed. With one (the last band,
    see :data:`sigma.clustering.auto_k.INTENSITY_WEIGHT`), the spectral bands and the rate
    band are mixed separately: ``a`` is then the share of the pixel's X-ray *counts* from
    ``k`` (the shape of the spectrum is ``a * shape_k + (1 - a) * shape_j``) and the rate
    fraction is mixed with the same share. Mixing the augmented fractions directly would
    weigh the rate band, which dominates them, as if it were counts: a thin particle edge on
    a film then looks half film even when most of its X-rays come from the particle.
    """
    k = len(p)
    a = np.broadcast_to(np.asarray(a, dtype=np.float64), (k, k))
    w = np.zeros((k, k, k))
    ii, jj = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    w[ii, jj, ii] += a
    w[ii, jj, jj] += 1 - a
    return mix_spectra(w.reshape(k * k, k), p, rate_band).reshape(k, k, -1)


def label_scores(y, logp, logpi, lab2d, *, mixed: bool = True, rate_band: bool = False,
                 shares: str = "max", floors=None) -> np.ndarray:
    """``(N, K)`` score of each label for each pixel.

    ``mixed=False``: the multinomial log-likelihood plus ``log`` weight. ``mixed=True``: a
    pixel labelled ``k`` may also hold up to half of a phase present within two pixels
    (``alpha * p_k + (1 - alpha) * p_j``, ``alpha`` in :data:`ALPHAS`): a boundary pixel then
    goes to the phase that dominates it, not to the phase whose peaks are the most exclusive.
    Only pixels near more than one label are scored that way. ``shares='max'`` takes the best
    share (and the pure spectrum); ``shares='mean'`` the likelihood averaged over them (see
    :func:`_mean_share_scores`). ``rate_band``: the last band of ``y`` is the count-rate band;
    ``alpha`` is then a share of the X-ray counts (see :func:`_pair_mixture`). ``floors``
    (``shares='mean'`` only): ``(K, K)`` least share of ``k`` beside ``j``, one half when
    ``None`` (see :func:`sigma.clustering._boundary._share_floors`).
    """
    if shares not in ("max", "mean"):
        raise bad_value("shares", shares, "'max' or 'mean'")
    k = len(logpi)
    s = y @ logp.T
    if mixed and k > 1:
        pres = present(lab2d, k).reshape(len(y), k)
        idx = np.flatnonzero(pres.sum(1) > 1)
        if idx.size and shares == "mean":
            s[idx] = _mean_share_scores(y[idx], logp, pres[idx], s[idx], rate_band, floors)
        elif idx.size:
            p = np.exp(logp.astype(np.float64))
            yb = y[idx]
            best = None
            for a in ALPHAS:
                q = np.log(np.maximum(_pair_mixture(p, a, rate_band), 1e-300)).reshape(k * k, -1)
                t = (yb @ q.T.astype(np.float32)).reshape(len(idx), k, k)
                best = t if best is None else np.maximum(best, t)
            best = np.where(pres[idx][:, None, :], best, -np.inf)
            s[idx] = np.maximum(s[idx], best.max(2))
    return s + logpi


def _mean_share_scores(yb, logp, pres, pure, rate_band: bool, floors=None) -> np.ndarray:
    """``(n, K)`` log of the likelihood of label ``k`` averaged over what a pixel labelled ``k``
    may hold: the pure spectrum ``p_k`` (weight ``1 / (1 + len(ALPHAS))``) or, with the rest
    of the weight spread evenly, ``alpha * p_k + (1 - alpha) * p_j`` for every share ``alpha``
    in :data:`ALPHAS` and every other label ``j`` of ``pres`` (``(n, K)`` bool, labels within
    two pixels); ``pure`` is ``yb @ logp.T``. With ``floors`` (``(K, K)``) the shares of ``k``
    beside ``j`` run from ``floors[k, j]`` (not one half) to 1, spread as :data:`ALPHAS` are.

    The best share (``shares='max'`` of :func:`label_scores`) gives both sides of a boundary
    between look-alike phases almost the same score: a pixel of 80 % ``C`` is explained nearly
    as well by ``52 % A + 48 % C`` as by the truth, and the Potts prior decides, which takes
    a ring of pixels off every small convex grain. The average over the shares keeps the
    evidence of which side holds the larger share. For clearly different phases the best term
    dominates the average and both give the same label.
    """
    k = logp.shape[0]
    p = np.exp(logp.astype(np.float64))
    t = np.full((k, k), 0.5) if floors is None else np.asarray(floors, dtype=np.float64)
    logq = [np.log(np.maximum(_pair_mixture(p, t + (a - 0.5) * (1 - t) / 0.5, rate_band), 1e-300))
            .reshape(k * k, -1).T.astype(np.float32) for a in ALPHAS]
    w0 = 1.0 / (1 + len(ALPHAS))
    out = np.empty(pure.shape, np.float32)
    step = max(1, _SHARE_BLOCK // (k * k))  # rows per block: (rows, K, K) per share in memory
    for lo in range(0, len(yb), step):
        sl = slice(lo, lo + step)
        other = pres[sl, None, :] & ~np.eye(k, dtype=bool)[None]  # (n, k, j): j present, j != k
        terms = [np.where(other, (yb[sl] @ q).reshape(-1, k, k), -np.inf) for q in logq]
        m = np.maximum(pure[sl], np.maximum.reduce(terms).max(2))
        acc = sum(np.exp(t - m[..., None]) for t in terms).sum(2)
        n_other = other.sum(2)
        wj = np.where(n_other > 0, (1 - w0) / (len(ALPHAS) * np.maximum(n_other, 1)), 0.0)
        w_pure = np.where(n_other > 0, w0, 1.0)
        out[sl] = m + np.log(w_pure * np.exp(pure[sl] - m) + wj * acc)
    return out


def mean_field(scores, lab2d, valid, *, beta: float, iters: int = 20, damping: float = 0.5) -> np.ndarray:
    """Labels ``(H, W)`` of largest mean-field marginal under a Potts prior: each pixel's label
    distribution ``q_i ∝ exp(scores_i + beta * sum of its 8 neighbours' q)``, started from
    ``lab2d`` (one-hot) and updated ``iters`` times, each step ``damping`` of the old ``q``
    kept (the synchronous update oscillates on a chequerboard otherwise); pixels outside
    ``valid`` have no vote and stay ``-1``.

    Unlike iterated conditional modes, a pixel's neighbours vote with their probabilities, not
    their hard labels, so a close call next to a boundary does not count as a full vote.

    Examples
    --------
    >>> lab = np.zeros((5, 5), np.int32); lab[:, 3:] = 1
    >>> s = np.zeros((25, 2), np.float32); s[11] = [-3.0, 0.0]  # 3 nats for label 1, at (2, 1)
    >>> mean_field(s, lab, np.ones((5, 5), bool), beta=1.0)[2].tolist()  # its neighbours outvote it
    [0, 0, 0, 1, 1]
    """
    h, w = lab2d.shape
    k = scores.shape[1]
    ok = valid.astype(np.float32)
    # labels first, (K, H, W): the sums over labels below run over a leading axis (fast)
    s = np.ascontiguousarray(np.asarray(scores, dtype=np.float32).T).reshape(k, h, w)
    q = (lab2d[None] == np.arange(k)[:, None, None]).astype(np.float32)
    keep, b = np.float32(damping), np.float32(beta)
    for _ in range(int(iters)):
        t = _sum8(q, (1, 2))  # labels first: the sums over labels below run fast
        t *= b
        t += s
        t -= t.max(0)
        np.maximum(t, -60.0, out=t)  # no denormal floats (see _posterior)
        np.exp(t, out=t)
        t *= (1 - keep) / t.sum(0)
        q *= keep
        q += t
        q *= ok
    return np.where(valid, q.argmax(0), -1).astype(np.int32)


def icm(y, logp, logpi, lab2d, valid, *, beta: float = 1.0, iters: int = 5, mixed: bool = True,
        rate_band: bool = False, global_prior: bool = False):
    """Iterated conditional modes with a Potts prior (``beta`` per agreeing neighbour); ``mixed``
    and ``rate_band`` as in :func:`label_scores`.

    ``global_prior=False`` (the default) leaves the mixture weights ``logpi`` out of the
    scores: the Potts term is the only prior. The weights are the prior of a pixel drawn at
    random from the map; inside a small grain they are wrong, and they cost a phase of 1 % of
    the map ``log(90)`` = 4.5 against one of 90 %, as much as four or five agreeing
    neighbours: the pixels of small phases, shells and particle edges, which are close calls,
    all went to the large phase (measured on the phantom family of
    :mod:`sigma.synthetic.family`, six TEM maps: ARI 0.875–0.969 with the weights,
    0.954–0.975 without; seven SEM maps up by 0.003–0.069, none down).

    Returns ``(labels (H, W), scores (N, K))``; pixels outside ``valid`` stay ``-1``.
    """
    h, w = lab2d.shape
    k = len(logpi)
    lab = lab2d.copy()
    flat_valid = valid.ravel()
    prior = logpi if global_prior else np.zeros_like(logpi)
    s = None
    for i in range(int(iters)):
        if mixed or s is None:
            s = label_scores(y, logp, prior, lab, mixed=mixed, rate_band=rate_band)
        t = s + np.float32(beta) * neighbour_votes(lab, k).reshape(h * w, k)
        new = np.where(flat_valid, t.argmax(1), -1).reshape(h, w).astype(np.int32)
        if i and np.array_equal(new, lab):
            break
        lab = new
    return lab, s


#: A label's spectrum comes from its interior pixels when it has this many of them
#: (:func:`spectra_from_labels`).
INTERIOR_MIN_PIXELS = 5


def spectra_from_labels(y, lab2d, k, *, interior_only: bool = True, min_pixels: int = INTERIOR_MIN_PIXELS):
    """Summed band counts ``(K, B)`` and pixel counts ``(K,)`` per label; with
    ``interior_only`` a label's spectrum comes from its interior pixels (boundary pixels mix
    phases) when it has at least ``min_pixels`` of them."""
    flat = lab2d.ravel()
    n = np.bincount(flat[flat >= 0], minlength=k)[:k].astype(np.float64)
    use = flat.copy()
    if interior_only:
        inner = interior(lab2d).ravel()
        ni = np.bincount(flat[inner], minlength=k)[:k]
        ok = ni >= min_pixels
        use = np.where(ok[np.clip(flat, 0, None)] & ~inner, -1, flat)
    return group_sums(y, use, k), n


def group_sums(y, labels, k) -> np.ndarray:
    """``(K, B)`` float64 sums of the rows of ``y`` per label (``-1`` left out)."""
    import scipy.sparse as sp

    lab = np.asarray(labels).ravel()
    keep = np.flatnonzero(lab >= 0)
    ind = sp.csr_matrix((np.ones(keep.size), (lab[keep], keep)), shape=(k, len(lab)))
    return np.asarray(ind @ y, dtype=np.float64)


def softmax_rows(s) -> np.ndarray:
    """Row-wise softmax, float32."""
    z = np.asarray(s, dtype=np.float64)
    z = _posterior(z, z.max(1)).astype(np.float64)
    return (z / z.sum(1, keepdims=True)).astype(np.float32)


def with_rate_band(y, weight: float, ceiling: float) -> np.ndarray:
    """``y`` with the count-rate band ``weight * (ceiling * max n - n)`` appended (see
    :data:`sigma.clustering.auto_k.INTENSITY_WEIGHT`)."""
    n = y.sum(1, dtype=np.float64)
    top = ceiling * max(float(n.max()), 1.0)
    extra = (weight * (top - n)).astype(np.float32)
    return np.concatenate([y, extra[:, None]], axis=1)
