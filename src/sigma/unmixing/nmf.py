"""NMF of cluster spectra, seeded starts, and per-pixel abundance maps.

Kernels here take and return numpy arrays; :class:`~sigma.clustering.PixelSegmenter` wraps
them. Conventions: cluster spectra ``X`` are ``(K, C)`` (one row per cluster), ``weights`` are
``(K, n_components)`` and ``components`` are ``(n_components, C)`` (one end-member spectrum per
row, scikit-learn's ``components_``), so ``X ~= weights @ components``.
"""

from __future__ import annotations

import logging

import numpy as np

from sigma._blocks import map_row_blocks
from sigma._errors import bad_value

__all__ = [
    "unmix_spectra",
    "unmix_spectra_seeded",
    "seeded_initialisation",
    "nnls_abundances",
    "spectral_angle",
    "spectra_rank",
]

logger = logging.getLogger(__name__)

_NMF_INITS = ("random", "nndsvd", "nndsvda", "nndsvdar")


def spectral_angle(a, b) -> np.ndarray:
    """Angle in degrees between spectra (rows of ``a`` against rows of ``b``).

    Examples
    --------
    >>> round(float(spectral_angle([1, 0], [1, 1]).item()), 6)
    45.0
    """
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    b = np.atleast_2d(np.asarray(b, dtype=np.float64))
    an = a / np.linalg.norm(a, axis=1, keepdims=True)
    bn = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.degrees(np.arccos(np.clip(an @ bn.T, -1.0, 1.0)))


def _check_x(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise bad_value("spectra", x.shape, "a non-empty (K, C) array of cluster spectra")
    if not np.isfinite(x).all() or (x < 0).any():
        raise bad_value(
            "spectra", f"array with min {np.nanmin(x):g}", "finite, non-negative spectra"
        )
    return x


def _check_k(n_components, x) -> int:
    limit = min(x.shape)
    if n_components == "All":
        return x.shape[0]
    if (
        isinstance(n_components, bool)
        or not isinstance(n_components, int | np.integer)
        or not 1 <= n_components <= limit
    ):
        raise bad_value(
            "n_components",
            n_components,
            f"'All' or an int in [1, {limit}] (at most the {x.shape[0]} selected clusters "
            f"and {x.shape[1]} channels)",
        )
    return int(n_components)


def spectra_rank(x) -> int:
    """How many end-members the spectra ``x`` can support: the numerical rank of its non-zero
    rows (each row scaled to unit norm, so a faint phase counts as much as a bright one).

    A cluster whose spectrum is all zero (pixels without counts) or a copy of another adds
    nothing an NMF could separate; asking for more components than this yields all-zero ones.

    Examples
    --------
    >>> import numpy as np
    >>> spectra_rank(np.array([[1.0, 0, 2], [0, 0, 0], [2.0, 0, 4], [0, 1.0, 0]]))
    2
    """
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1)
    rows = x[norms > 0] / norms[norms > 0, None]
    if rows.size == 0:
        return 0
    return int(np.linalg.matrix_rank(rows, tol=1e-9 * max(rows.shape)))


def _cap_k(k: int, x, what: str = "cluster spectra") -> int:
    """``min(k, spectra_rank(x))`` with a warning that says why; an error when it is 0."""
    r = spectra_rank(x)
    if r == 0:
        raise bad_value("spectra", "all-zero spectra", f"{what} with counts to unmix")
    if k > r:
        zero = int((np.abs(np.asarray(x)).sum(axis=1) == 0).sum())
        why = f" ({zero} of them all zero)" if zero else ""
        logger.warning(
            "n_components = %d but the %d %s%s support only %d independent end-members: "
            "using %d", k, len(x), what, why, r, r,
        )  # fmt: skip
        return r
    return k


def _drop_zero_components(weights, components):
    """Remove end-members that came out all zero (exactly: they add nothing to ``W @ H``)."""
    norms = np.linalg.norm(components, axis=1)
    keep = norms > 1e-12 * max(float(norms.max(initial=0.0)), 1e-300)
    if keep.all():
        return weights, components
    logger.warning(
        "NMF returned %d all-zero end-member(s) (no signal left for them); kept the other %d",
        int((~keep).sum()), int(keep.sum()),
    )  # fmt: skip
    if not keep.any():
        raise bad_value("components", "all-zero end-members", "an NMF with signal to unmix")
    return weights[:, keep], components[keep]


def _fit(model, x, **kwargs):
    """``model.fit_transform(x, **kwargs)``, with scikit-learn's "maximum number of
    iterations reached" said once in the log (INFO, with the iteration count and the
    reconstruction error) instead of as a warning in the user's output: NMF's components
    are used as they are when it stops at ``max_iter``, which is common and seldom changes
    them. Other warnings pass through."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = model.fit_transform(x, **kwargs)
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            logger.info(
                "%s stopped at its iteration limit (%s of max_iter=%s) before its tolerance; "
                "reconstruction error %.4g (raise method_args max_iter to go further)",
                type(model).__name__, getattr(model, "n_iter_", "?"),
                getattr(model, "max_iter", "?"), float(getattr(model, "reconstruction_err_", np.nan)),
            )  # fmt: skip
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return out


def _make_model(method, k, method_args):
    args = dict(method_args or {})
    if isinstance(method, str):
        if method != "NMF":
            raise bad_value("method", method, "'NMF' or an estimator with fit_transform")
        from sklearn.decomposition import NMF

        args.setdefault("max_iter", 1000)
        try:
            return NMF(n_components=k, **args)
        except TypeError as exc:
            raise bad_value(
                "method_args", method_args, f"keyword arguments of NMF ({exc})"
            ) from None
    if not (hasattr(method, "fit_transform") and hasattr(method, "get_params")):
        raise bad_value("method", method, "'NMF' or an estimator with fit_transform")
    from sklearn.base import clone

    model = clone(method)
    if "n_components" in model.get_params():
        model.set_params(n_components=k)
    if args:
        model.set_params(**args)
    return model


def unmix_spectra(x, n_components="All", *, method="NMF", method_args=None):
    """Factorise cluster spectra ``x ~= weights @ components`` with non-negative factors.

    Parameters
    ----------
    x : array_like, shape (K, C)
        Non-negative cluster spectra.
    n_components : 'All' or int
        ``'All'`` means K. At most ``min(K, C)``.
    method : 'NMF' or estimator
        scikit-learn NMF, or any estimator with ``fit_transform`` and ``components_``.
    method_args : dict, optional
        Keyword arguments of the estimator (``max_iter`` defaults to 1000 for NMF).

    Returns
    -------
    weights : ndarray, shape (K, k)
    components : ndarray, shape (k, C)
        ``k`` is ``n_components``, or fewer when the spectra support fewer end-members
        (:func:`spectra_rank`: all-zero or repeated cluster spectra) or when an end-member came
        out all zero; each reduction is logged as a warning. End-members are never all zero.
    model : fitted estimator

    Examples
    --------
    >>> import numpy as np
    >>> comps = np.array([[1.0, 0, 2, 0], [0, 3.0, 0, 1]])
    >>> x = np.array([[1.0, 0], [0, 1], [0.5, 0.5]]) @ comps
    >>> w, h, _ = unmix_spectra(x, 2, method_args={"init": "nndsvda", "random_state": 0})
    >>> bool(np.allclose(w @ h, x, atol=1e-3))
    True

    A cluster without counts adds no end-member:

    >>> w, h, _ = unmix_spectra(np.vstack([x[:2], np.zeros(4)]), 3, method_args={"random_state": 0})
    >>> h.shape, bool((np.linalg.norm(h, axis=1) > 0).all())
    ((2, 4), True)
    """
    x = _check_x(x)
    k = _cap_k(_check_k(n_components, x), x)
    model = _make_model(method, k, method_args)
    weights = np.asarray(_fit(model, x), dtype=np.float64)
    components = np.asarray(model.components_, dtype=np.float64)
    weights, components = _drop_zero_components(weights, components)
    return weights, components, model


def unmix_spectra_seeded(x, seeds, n_components="All", *, method_args=None):
    """NMF of ``x`` started from seed end-members (:func:`seeded_initialisation`).

    Seeds that are all zero are left out, the rank is capped as in :func:`unmix_spectra`, and
    end-members that come out all zero are dropped.

    Parameters
    ----------
    x : array_like, shape (K, C)
    seeds : array_like, shape (S, C)
    n_components : 'All' or int
    method_args : dict, optional
        Keywords of scikit-learn's NMF; ``init`` picks how the unseeded rows start (default
        ``'nndsvda'``), the fit itself uses ``init='custom'``.

    Returns
    -------
    weights, components, model
        As in :func:`unmix_spectra`.

    Examples
    --------
    >>> import numpy as np
    >>> comps = np.array([[1.0, 0, 2, 0], [0, 3.0, 0, 1]])
    >>> x = np.array([[1.0, 0], [0, 1], [0.5, 0.5]]) @ comps
    >>> w, h, _ = unmix_spectra_seeded(x, x[:2], 2, method_args={"random_state": 0})
    >>> float(spectral_angle(h, comps).min(axis=1).max()) < 1
    True
    """
    from sklearn.decomposition import NMF

    x = _check_x(x)
    k = _cap_k(_check_k(n_components, x), x)
    seeds = np.atleast_2d(np.asarray(seeds, dtype=np.float64))
    nonzero = np.abs(seeds).sum(axis=1) > 0 if seeds.ndim == 2 else np.ones(0, bool)
    if seeds.ndim == 2 and not nonzero.all():
        logger.warning("left out %d all-zero seed spectra", int((~nonzero).sum()))
        seeds = seeds[nonzero]
    args = dict(method_args or {})
    fill = args.pop("init", None) or "nndsvda"
    if fill == "custom":
        fill = "nndsvda"
    if seeds.ndim != 2 or len(seeds) == 0:
        return unmix_spectra(x, k, method_args={**args, "init": fill})
    w0, h0 = seeded_initialisation(x, seeds, k, init=fill, random_state=args.get("random_state"))
    args.setdefault("max_iter", 1000)
    try:
        model = NMF(n_components=k, init="custom", **args)
    except TypeError as exc:
        raise bad_value("method_args", method_args, f"keyword arguments of NMF ({exc})") from None
    weights = np.asarray(_fit(model, x, W=w0, H=h0), dtype=np.float64)
    components = np.asarray(model.components_, dtype=np.float64)
    weights, components = _drop_zero_components(weights, components)
    return weights, components, model


def seeded_initialisation(x, seeds, n_components, *, init="nndsvda", random_state=None):
    """Starting ``(W0, H0)`` for NMF with some end-members fixed from seed spectra.

    The first rows of ``H0`` are the seeds (the first ``n_components`` if there are more).
    The remaining rows come from an unseeded NMF of ``x`` started with ``init``: of its
    ``n_components`` components, those least similar (largest spectral angle) to the seeds.
    ``W0`` is the non-negative least-squares fit of ``x`` onto ``H0``. Exact zeros are
    lifted to a tiny positive value so multiplicative solvers can move them.

    Parameters
    ----------
    x : array_like, shape (K, C)
    seeds : array_like, shape (S, C)
    n_components : int
    init : {'nndsvda', 'nndsvd', 'nndsvdar', 'random'}
    random_state : int, optional

    Returns
    -------
    W0 : ndarray, shape (K, n_components)
    H0 : ndarray, shape (n_components, C)

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]])
    >>> w0, h0 = seeded_initialisation(x, [[0, 0, 1.0]], 3, random_state=0)
    >>> h0[0].round(3).tolist(), w0.shape
    ([0.0, 0.0, 1.0], (4, 3))
    """
    x = _check_x(x)
    k = _check_k(n_components, x)
    seeds = np.atleast_2d(np.asarray(seeds, dtype=np.float64))
    if seeds.ndim != 2 or seeds.shape[1] != x.shape[1] or len(seeds) == 0:
        raise bad_value("seeds", seeds.shape, f"an (S, {x.shape[1]}) array with S >= 1")
    if init not in _NMF_INITS:
        raise bad_value("init", init, f"one of {list(_NMF_INITS)} (used for the unseeded rows)")
    if len(seeds) > k:
        logger.warning("%d seeds for %d components: keeping the first %d", len(seeds), k, k)
        seeds = seeds[:k]
    rows = [seeds]
    r = k - len(seeds)
    if r > 0:
        from sklearn.decomposition import NMF

        cand = NMF(n_components=k, init=init, random_state=random_state, max_iter=500)
        _fit(cand, x)
        cand_h = cand.components_
        norms = np.linalg.norm(cand_h, axis=1)
        sim = np.zeros(k)
        ok = norms > 0
        sim[ok] = (spectral_angle(cand_h[ok], seeds) if ok.any() else np.zeros((0, 1))).min(axis=1)
        pick = np.argsort(-sim)[:r]  # the most different from every seed
        rows.append(cand_h[pick])
    h0 = np.vstack(rows)
    w0 = nnls_abundances(x, h0)
    eps_h = 1e-6 * max(float(h0.max()), 1e-12)
    eps_w = 1e-6 * max(float(w0.max()), 1e-12)
    return np.maximum(w0, eps_w), np.maximum(h0, eps_h)


def _nnls_gram(gram, b, max_iter, tol):
    """Solve min_a ||x - a H||^2, a >= 0 for every row, given G = H H^T and b = x H^T.

    Start from the unconstrained solution (exact wherever it is non-negative); rows with a
    negative entry are refined by cyclic coordinate descent on the quadratic, vectorised over
    rows, stopping a row when its largest update is below ``tol`` times the row's scale.
    """
    k = gram.shape[0]
    diag = np.diag(gram).copy()
    if (diag <= 0).any():
        raise bad_value(
            "components", f"component(s) {np.flatnonzero(diag <= 0).tolist()} all zero",
            "non-zero end-member spectra",
        )  # fmt: skip
    a = b @ np.linalg.pinv(gram)
    need = np.flatnonzero((a < 0).any(axis=1))
    np.maximum(a, 0, out=a)
    if need.size == 0:
        return a
    sub_a, sub_b = a[need], b[need]
    active = np.arange(len(need))
    for _ in range(max_iter):
        aa, bb = sub_a[active], sub_b[active]
        change = np.zeros(len(active))
        for j in range(k):
            grad = aa @ gram[:, j] - bb[:, j]
            new = np.maximum(0.0, aa[:, j] - grad / diag[j])
            change = np.maximum(change, np.abs(new - aa[:, j]))
            aa[:, j] = new
        sub_a[active] = aa
        scale = np.maximum(aa.max(axis=1), 1e-300)
        active = active[change > tol * scale]
        if active.size == 0:
            break
    a[need] = sub_a
    return a


def nnls_abundances(spectra, components, *, max_iter=2000, tol=1e-10, progress=False):
    """Per-pixel non-negative least-squares abundances of end-member spectra.

    For each pixel spectrum ``s`` finds ``a >= 0`` minimising ``||s - a @ components||``.
    The cube is read once in row blocks (:func:`sigma._blocks.map_row_blocks`: a dask cube
    is computed once, without loading it whole); the ``k x k`` problem per pixel is then
    solved for all pixels at once.

    Parameters
    ----------
    spectra : array_like, shape (..., C)
        E.g. an (H, W, C) numpy or dask cube, or (N, C).
    components : array_like, shape (k, C)
    max_iter : int
        Coordinate-descent sweeps for pixels whose unconstrained fit has negative entries.
    tol : float
        Relative stopping tolerance of those sweeps.
    progress : bool
        Show a progress bar (lazy cubes).

    Returns
    -------
    ndarray of float64, shape (..., k)

    Examples
    --------
    >>> import numpy as np
    >>> comps = np.array([[1.0, 0, 1], [0, 1.0, 1]])
    >>> cube = np.array([[[2.0, 0, 2], [1, 3, 4]], [[0, 0, 0], [1, -1, 0]]])
    >>> nnls_abundances(cube, comps).round(6).tolist()
    [[[2.0, 0.0], [1.0, 3.0]], [[0.0, 0.0], [0.5, 0.0]]]
    """
    comps = np.asarray(components, dtype=np.float64)
    if comps.ndim == 1:
        comps = comps[None]
    shape = tuple(spectra.shape)
    if comps.ndim != 2 or comps.shape[1] != shape[-1]:
        raise bad_value(
            "components", comps.shape, f"an (n_components, {shape[-1]}) array of spectra"
        )
    gram = comps @ comps.T
    nav = shape[:-1]
    if len(nav) == 0:
        spectra, nav = spectra[None], (1,)
    def work(blk, r0, r1):  # returns its rows (a distributed worker cannot write into b)
        return blk.astype(np.float64, copy=False) @ comps.T

    # blocks of about 64 MiB once converted to float64 (not in the cube's own dtype)
    limit = max(1, (64 << 20) * np.dtype(spectra.dtype).itemsize // 8)
    parts = map_row_blocks(work, spectra, limit=limit, desc="abundances", progress=progress)
    b = np.concatenate(parts, axis=0)
    b = b.reshape((*nav, comps.shape[0]))
    flat_b = b.reshape(-1, comps.shape[0])
    a = _nnls_gram(gram, flat_b, max_iter, tol)
    out = a.reshape(b.shape)
    return out if len(shape) > 1 else out[0]
