"""Clustering back-ends: name -> scikit-learn estimator, fitting, HDBSCAN sample-and-assign.

Every method returns flat labels with ``-1`` for noise. Any object with ``fit_predict`` is
accepted as well as the named methods, following the scikit-learn estimator contract.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from sigma._errors import bad_value

__all__ = [
    "METHODS",
    "ClusterFit",
    "NeighbourAssigner",
    "bic_sweep",
    "fit_clusters",
    "make_estimator",
    "predict_clusters",
]

logger = logging.getLogger(__name__)

#: Names accepted for ``method`` (scikit-learn estimators).
METHODS = ("GaussianMixture", "BayesianGaussianMixture", "Kmeans", "Birch", "HDBSCAN")

_DEFAULT_ARGS = {
    "GaussianMixture": {"n_components": 8, "random_state": 0},
    "BayesianGaussianMixture": {"n_components": 8, "random_state": 0},
    "Kmeans": {"n_clusters": 8, "random_state": 0, "n_init": "auto"},
    "Birch": {"n_clusters": 8},
    "HDBSCAN": {"copy": True},  # never modify the caller's latent array
}


@dataclass
class ClusterFit:
    """Result of :func:`fit_clusters`.

    Attributes
    ----------
    labels : ndarray of int32, shape (N,)
        Cluster id per point, ``-1`` for noise.
    proba : ndarray of float32, shape (N, K) or None
        Soft assignment (``predict_proba``) where the method has one (Gaussian mixtures).
    membership : ndarray of float32, shape (N,) or None
        HDBSCAN's membership strength (``probabilities_``): how strongly a point belongs to
        its own cluster. Not a probability over clusters.
    model : object
        The fitted estimator.
    n_fit : int
        Number of points the estimator was fitted on (less than N when subsampled).
    assigner : NeighbourAssigner or None
        For HDBSCAN (which has no ``predict``): assigns new points from the fitted ones
        (:func:`predict_clusters`).

    Examples
    --------
    >>> import numpy as np
    >>> pts = np.r_[np.zeros((5, 2)), np.ones((5, 2))]
    >>> fit = fit_clusters(pts, "Kmeans", {"n_clusters": 2})
    >>> isinstance(fit, ClusterFit), fit.labels.shape, fit.n_fit, fit.proba is None
    (True, (10,), 10, True)
    """

    labels: np.ndarray
    proba: np.ndarray | None
    membership: np.ndarray | None
    model: object
    n_fit: int
    assigner: NeighbourAssigner | None = field(default=None, repr=False)


def _resolve(method, method_args):
    if method_args is None:
        method_args = {}
    if not isinstance(method_args, dict):
        raise bad_value("method_args", method_args, "a dict of keyword arguments or None")
    if isinstance(method, str):
        if method not in METHODS:
            raise bad_value("method", method, f"one of {list(METHODS)} or an estimator")
        args = dict(_DEFAULT_ARGS[method])
        user = dict(method_args)
        if method in ("Kmeans", "Birch") and "n_components" in user:
            # the tutorial's GMM spelling, accepted for the other methods too
            user.setdefault("n_clusters", user.pop("n_components"))
        args.update(user)
        return method, args
    if not hasattr(method, "fit_predict"):
        raise bad_value("method", method, f"one of {list(METHODS)} or an object with fit_predict")
    if method_args:
        raise bad_value("method_args", method_args, "empty when 'method' is an estimator object")
    return method, {}


def make_estimator(method, method_args=None):
    """Build an unfitted estimator for a method name (or pass an estimator through).

    Parameters
    ----------
    method : str or estimator
        One of :data:`METHODS` or any object with ``fit_predict``.
    method_args : dict, optional
        Keyword arguments of the scikit-learn class. ``Kmeans`` and ``Birch`` also accept
        ``n_components`` as a spelling of ``n_clusters``.

    Examples
    --------
    >>> make_estimator("Kmeans", {"n_components": 3}).n_clusters
    3
    >>> make_estimator("GaussianMixture").n_components
    8
    """
    method, args = _resolve(method, method_args)
    if not isinstance(method, str):
        return method
    from sklearn import cluster, mixture

    cls = {
        "GaussianMixture": mixture.GaussianMixture,
        "BayesianGaussianMixture": mixture.BayesianGaussianMixture,
        "Kmeans": cluster.KMeans,
        "Birch": cluster.Birch,
        "HDBSCAN": cluster.HDBSCAN,
    }[method]
    try:
        return cls(**args)
    except TypeError as exc:
        raise bad_value(
            "method_args", method_args, f"keyword arguments of {cls.__name__} ({exc})"
        ) from None


def _sample(n: int, size: int, random_state) -> np.ndarray:
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, size=size, replace=False))


def _hdbscan_fit_predict(x, args):
    """scikit-learn HDBSCAN, working around scikit-learn issue #33219: with NumPy >= 2.4 a
    non-zero ``cluster_selection_epsilon`` can raise ``TypeError: only 0-dimensional arrays
    can be converted to Python scalars`` (open fix: scikit-learn PR #34243). Then the fit is
    redone without epsilon and clusters are merged when any of their points are within
    mutual-reachability distance ``epsilon`` of each other (the epsilon rule applied to the
    final clusters; noise points stay noise), with a warning."""
    from sklearn.cluster import HDBSCAN

    model = HDBSCAN(**args)
    try:
        return model, np.asarray(model.fit_predict(x)).astype(np.int32)
    except TypeError as exc:
        eps = float(args.get("cluster_selection_epsilon", 0.0))
        if eps <= 0 or "0-dimensional" not in str(exc):
            raise
    logger.warning(
        "scikit-learn's HDBSCAN failed with cluster_selection_epsilon=%g (scikit-learn issue "
        "#33219 on NumPy >= 2.4); fitting without it and merging clusters closer than %g",
        eps, eps,
    )  # fmt: skip
    model = HDBSCAN(**{**args, "cluster_selection_epsilon": 0.0})
    labels = np.asarray(model.fit_predict(x)).astype(np.int32)
    return model, _merge_within_epsilon(x, labels, eps, args)


def _merge_within_epsilon(x, labels, eps, args):
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components
    from sklearn.neighbors import NearestNeighbors

    k = int(args.get("min_samples") or args.get("min_cluster_size", 5))
    k = max(1, min(k, len(x)))
    clustered = np.flatnonzero(labels >= 0)
    n_lab = int(labels.max()) + 1
    if n_lab < 2:
        return labels
    nn = NearestNeighbors(n_neighbors=k).fit(x)
    core = nn.kneighbors(x)[0][:, -1]
    pts = x[clustered]
    tree = NearestNeighbors(radius=eps).fit(pts)
    a_list, b_list = [], []
    for s0 in range(0, len(pts), 20_000):  # bounded memory
        dist, ind = tree.radius_neighbors(pts[s0 : s0 + 20_000], return_distance=True)
        rows = np.repeat(np.arange(s0, s0 + len(ind)), [len(i) for i in ind])
        if rows.size == 0:
            continue
        cols = np.concatenate(ind)
        d = np.concatenate(dist)
        mr = np.maximum(d, np.maximum(core[clustered[rows]], core[clustered[cols]]))
        keep = (mr <= eps) & (labels[clustered[rows]] != labels[clustered[cols]])
        a_list.append(labels[clustered[rows[keep]]])
        b_list.append(labels[clustered[cols[keep]]])
    if not a_list or sum(len(a) for a in a_list) == 0:
        return labels
    a, b = np.concatenate(a_list), np.concatenate(b_list)
    graph = sp.coo_matrix((np.ones(len(a)), (a, b)), shape=(n_lab, n_lab))
    _, comp = connected_components(graph, directed=False)
    # each merged group takes the smallest old id, then ids are made consecutive
    first = np.full(comp.max() + 1, n_lab)
    np.minimum.at(first, comp, np.arange(n_lab))
    _, new_ids = np.unique(first[comp], return_inverse=True)
    out = labels.copy()
    out[clustered] = new_ids[labels[clustered]]
    return out


class NeighbourAssigner:
    """Give new points the HDBSCAN cluster of their nearest fitted point, or noise.

    A new point takes the label of its nearest fitted point ``y`` when ``y`` is in a cluster
    and the point lies within ``y``'s reach: ``max(core(y), epsilon)``, where ``core(y)`` is
    the distance from ``y`` to its ``min_samples``-th nearest fitted point (itself included),
    the core distance the HDBSCAN fit used. Farther points, and points nearest to noise, are
    noise (-1). Their membership strength is their neighbour's.

    Parameters
    ----------
    points : ndarray, shape (n, d)
        The points HDBSCAN was fitted on.
    labels : ndarray of int, shape (n,)
    strength : ndarray of float, shape (n,)
        HDBSCAN's ``probabilities_``.
    min_samples : int
        The ``min_samples`` of that fit.
    epsilon : float
        Its ``cluster_selection_epsilon``.

    Examples
    --------
    >>> import numpy as np
    >>> pts = np.array([[0.0], [0.1], [0.2], [5.0]])
    >>> a = NeighbourAssigner(pts, np.array([0, 0, 0, -1]), np.ones(4), min_samples=2)
    >>> a.assign(np.array([[0.15], [1.0], [4.9]]))[0].tolist()
    [0, -1, -1]
    """

    def __init__(self, points, labels, strength, *, min_samples: int, epsilon: float = 0.0):
        self.points = np.asarray(points)
        self.labels = np.asarray(labels, dtype=np.int32)
        self.strength = np.asarray(strength, dtype=np.float32)
        self.min_samples = int(max(1, min(int(min_samples), len(self.points))))
        self.epsilon = float(epsilon)
        self._nn = None

    def _index(self):
        if self._nn is None:
            from sklearn.neighbors import NearestNeighbors

            self._nn = NearestNeighbors(n_neighbors=self.min_samples).fit(self.points)
            core = self._nn.kneighbors(self.points)[0][:, -1]
            self._reach = np.maximum(core, self.epsilon)
        return self._nn

    def assign(self, x, *, block: int = 262_144) -> tuple[np.ndarray, np.ndarray]:
        """Labels (int32) and membership strengths (float32) of the points ``x`` (N, d)."""
        nn = self._index()
        x = np.asarray(x)
        labels = np.empty(len(x), dtype=np.int32)
        strength = np.empty(len(x), dtype=np.float32)
        for s0 in range(0, len(x), block):  # bounded memory
            dist, nbr = nn.kneighbors(x[s0 : s0 + block], n_neighbors=1)
            dist, nbr = dist[:, 0], nbr[:, 0]
            lab = self.labels[nbr].copy()
            lab[dist > self._reach[nbr]] = -1
            labels[s0 : s0 + block] = lab
            strength[s0 : s0 + block] = np.where(lab >= 0, self.strength[nbr], 0.0)
        return labels, strength


def _fit_hdbscan_sampled(latent, args, max_fit_samples, random_state) -> ClusterFit:
    """Fit HDBSCAN on a random sample, then assign every other point with
    :class:`NeighbourAssigner`. ``min_cluster_size`` and ``max_cluster_size`` are scaled by
    the sample fraction; ``min_samples`` (default: the unscaled ``min_cluster_size``, as
    scikit-learn's default) is not, and the reach of the assignment uses the same
    ``min_samples`` as the fit, so the two agree on what is dense."""
    n = len(latent)
    idx = _sample(n, max_fit_samples, random_state)
    ratio = max_fit_samples / n
    scaled = dict(args)
    mcs = int(args.get("min_cluster_size", 5))
    scaled["min_cluster_size"] = max(2, round(mcs * ratio))
    scaled["min_samples"] = int(min(args.get("min_samples") or mcs, max_fit_samples))
    if args.get("max_cluster_size"):
        scaled["max_cluster_size"] = max(
            scaled["min_cluster_size"], round(args["max_cluster_size"] * ratio)
        )
    logger.info(
        "HDBSCAN on %d of %d points (min_cluster_size %s -> %s, max_cluster_size %s -> %s, "
        "min_samples %s); the rest are assigned to their nearest sampled neighbour",
        max_fit_samples, n, mcs, scaled["min_cluster_size"],
        args.get("max_cluster_size"), scaled.get("max_cluster_size"), scaled["min_samples"],
    )  # fmt: skip
    sub = latent[idx]
    model, sample_labels = _hdbscan_fit_predict(sub, scaled)
    assigner = NeighbourAssigner(
        sub, sample_labels, model.probabilities_, min_samples=scaled["min_samples"],
        epsilon=float(args.get("cluster_selection_epsilon", 0.0)),
    )  # fmt: skip
    rest = np.ones(n, dtype=bool)
    rest[idx] = False
    labels = np.empty(n, dtype=np.int32)
    strength = np.empty(n, dtype=np.float32)
    labels[idx], strength[idx] = sample_labels, assigner.strength
    labels[rest], strength[rest] = assigner.assign(latent[rest])
    return ClusterFit(labels, None, strength, model, max_fit_samples, assigner)


#: Estimators whose fit is many matrix products with a latent-sized inner dimension (a
#: Gaussian mixture's per-component products on ``(N, d)`` points, ``d`` of 2 to a few tens).
_SMALL_BLAS = ("GaussianMixture", "BayesianGaussianMixture")


def _small_blas(method):
    """One BLAS thread for :data:`_SMALL_BLAS` estimators, else a no-op context.

    Splitting a product with an inner dimension of 2 over BLAS threads costs more than it
    saves, and on a shared machine OpenBLAS's waiting threads made a 20-component mixture on
    196 608 points 2-5 times slower (2026-11-29, 2 cores under load: 35 s and 17 s against 7 s
    and 4.6 s for the whole clustering stage, labels identical).
    """
    from contextlib import nullcontext

    if not isinstance(method, str) or method not in _SMALL_BLAS:
        return nullcontext()
    from sigma._blocks import one_blas_thread

    return one_blas_thread()


def fit_clusters(
    latent, method="GaussianMixture", method_args=None, *, max_fit_samples=50_000, random_state=0
) -> ClusterFit:
    """Cluster latent points.

    Parameters
    ----------
    latent : array_like, shape (N, d)
    method : str or estimator
        See :func:`make_estimator`.
    method_args : dict, optional
    max_fit_samples : int or None
        HDBSCAN is fitted on at most this many randomly chosen points (its cost grows faster
        than linearly); the other points take the label of their nearest sampled neighbour.
        Size parameters (``min_cluster_size``, ``max_cluster_size``) are scaled by the sample
        fraction. ``None`` fits on everything. Other methods always fit on all points.
    random_state : int or None
        Seed of that sample.

    Returns
    -------
    ClusterFit

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> pts = np.r_[rng.normal(0, 0.1, (50, 2)), rng.normal(5, 0.1, (50, 2))]
    >>> fit = fit_clusters(pts, "GaussianMixture", {"n_components": 2, "random_state": 0})
    >>> np.bincount(fit.labels).tolist(), fit.proba.shape
    ([50, 50], (100, 2))
    """
    latent = np.asarray(latent)
    if latent.ndim != 2 or len(latent) == 0:
        raise bad_value("latent", latent.shape, "a non-empty array of shape (N, d)")
    method, args = _resolve(method, method_args)
    if max_fit_samples is not None and (
        isinstance(max_fit_samples, bool)
        or not isinstance(max_fit_samples, int | np.integer)
        or max_fit_samples < 2
    ):
        raise bad_value("max_fit_samples", max_fit_samples, "an int >= 2 or None")
    n = len(latent)
    for key in ("n_components", "n_clusters"):
        k = args.get(key)
        if isinstance(k, int | np.integer) and not isinstance(k, bool) and k > n:
            raise bad_value(
                f"method_args['{key}']", int(k),
                f"an int <= {n}, the number of pixels (points) to cluster"
                + (", or 'auto'" if method in ("GaussianMixture", "BayesianGaussianMixture", "Kmeans") else ""),
            )
    if method == "HDBSCAN" and max_fit_samples is not None and n > max_fit_samples:
        return _fit_hdbscan_sampled(latent, args, int(max_fit_samples), random_state)

    if method == "HDBSCAN":
        model, labels = _hdbscan_fit_predict(latent, args)
    else:
        model = make_estimator(method, args)
        with _small_blas(method):
            labels = np.asarray(model.fit_predict(latent))
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
        raise bad_value("method", method, f"an estimator whose fit_predict returns {n} int labels")
    labels = labels.astype(np.int32)
    if labels.min() < -1:
        raise bad_value("method", method, "an estimator that labels noise -1 and clusters >= 0")
    proba = membership = None
    if method in ("GaussianMixture", "BayesianGaussianMixture") or (
        not isinstance(method, str) and hasattr(model, "predict_proba")
    ):
        with _small_blas(method):
            proba = np.asarray(model.predict_proba(latent), dtype=np.float32)
    assigner = None
    if method == "HDBSCAN":
        membership = np.asarray(model.probabilities_, dtype=np.float32)
        assigner = NeighbourAssigner(
            latent, labels, membership, min_samples=args.get("min_samples") or
            args.get("min_cluster_size", 5), epsilon=float(args.get("cluster_selection_epsilon", 0.0)),
        )  # fmt: skip
    return ClusterFit(labels, proba, membership, model, n, assigner)


def predict_clusters(fit: ClusterFit, latent) -> ClusterFit:
    """Apply a clustering fitted on some points to other points.

    Gaussian mixtures, k-means, Birch and estimators with ``predict`` use it (with
    ``predict_proba`` where the fit had probabilities); HDBSCAN, which has no ``predict``,
    assigns each point with the fit's :class:`NeighbourAssigner` (the nearest fitted point's
    cluster within its reach, else noise), the rule :func:`fit_clusters` uses for the points
    outside its sample.

    Parameters
    ----------
    fit : ClusterFit
        From :func:`fit_clusters`.
    latent : array_like, shape (M, d)
        Points in the same space as the fitted ones.

    Returns
    -------
    ClusterFit
        ``labels``, ``proba`` and ``membership`` of the new points; ``model``, ``n_fit`` and
        ``assigner`` of ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> pts = np.r_[rng.normal(0, 0.1, (40, 2)), rng.normal(5, 0.1, (40, 2))]
    >>> fit = fit_clusters(pts, "HDBSCAN", {"min_cluster_size": 10})
    >>> predict_clusters(fit, [[0.0, 0.05], [5.0, 5.0], [20.0, 20.0]]).labels.tolist()
    [0, 1, -1]
    >>> gmm = fit_clusters(pts, "GaussianMixture", {"n_components": 2, "random_state": 0})
    >>> new = predict_clusters(gmm, [[5.0, 5.0], [0.0, 0.0]])
    >>> new.labels.tolist() == gmm.labels[[-1, 0]].tolist(), new.proba.max(axis=1).round(2).tolist()
    (True, [1.0, 1.0])
    """
    x = np.asarray(latent)
    d = fit.assigner.points.shape[1] if fit.assigner is not None else getattr(
        fit.model, "n_features_in_", x.shape[-1] if x.ndim == 2 else None)  # fmt: skip
    if x.ndim != 2 or x.shape[1] != d or not np.isfinite(x).all():
        raise bad_value("latent", f"an array of shape {x.shape}", f"finite points of shape (M, {d})")
    if fit.assigner is not None:
        labels, strength = fit.assigner.assign(x)
        return ClusterFit(labels, None, strength, fit.model, fit.n_fit, fit.assigner)
    if not hasattr(fit.model, "predict"):
        raise bad_value("fit", type(fit.model).__name__, "a fit whose estimator has predict, or HDBSCAN")
    with _small_blas(type(fit.model).__name__):
        labels = np.asarray(fit.model.predict(x)).astype(np.int32)
        proba = None
        if fit.proba is not None and hasattr(fit.model, "predict_proba"):
            proba = np.asarray(fit.model.predict_proba(x), dtype=np.float32)
    return ClusterFit(labels, proba, None, fit.model, fit.n_fit)


def bic_sweep(
    latent,
    n_range=20,
    *,
    model="GaussianMixture",
    model_args=None,
    max_fit_samples=None,
    random_state=0,
    progress=None,
):
    """Bayesian information criterion of Gaussian mixtures with 1..n components.

    Parameters
    ----------
    latent : array_like, shape (N, d)
    n_range : int or iterable of int
        An int ``n`` means ``range(1, n + 1)``.
    model : {'GaussianMixture', 'BayesianGaussianMixture'}
    model_args : dict, optional
        Extra keyword arguments (``n_components`` is set by the sweep).
    max_fit_samples : int, optional
        Fit and score on a random sample of this size (BIC of the sample).
    random_state : int or None
        Seed of that sample.
    progress : bool or None
        Show a tqdm bar; ``None`` follows ``SIGMA_PROGRESS``.

    Returns
    -------
    n_components : ndarray of int
    bic : ndarray of float
        ``-2 log L + p ln N`` (equal to scikit-learn's ``GaussianMixture.bic``); lower is
        better.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> pts = np.r_[rng.normal(0, 0.1, (60, 2)), rng.normal(5, 0.1, (60, 2))]
    >>> ns, bic = bic_sweep(pts, 4, model_args={"random_state": 0}, progress=False)
    >>> int(ns[np.argmin(bic)])
    2
    """
    from tqdm.auto import tqdm

    from sigma._progress import progress_enabled

    progress = progress_enabled() if progress is None else progress
    if model not in ("GaussianMixture", "BayesianGaussianMixture"):
        raise bad_value("model", model, "'GaussianMixture' or 'BayesianGaussianMixture'")
    if isinstance(n_range, int | np.integer) and not isinstance(n_range, bool):
        if n_range < 1:
            raise bad_value("n_range", n_range, "an int >= 1 or an iterable of ints >= 1")
        ns = np.arange(1, int(n_range) + 1)
    else:
        ns = np.asarray(list(n_range))
        if ns.size == 0 or ns.ndim != 1 or not np.issubdtype(ns.dtype, np.integer) or ns.min() < 1:
            raise bad_value("n_range", n_range, "an int >= 1 or an iterable of ints >= 1")
    latent = np.asarray(latent)
    if latent.ndim != 2:
        raise bad_value("latent", latent.shape, "an array of shape (N, d)")
    if max_fit_samples is not None and len(latent) > max_fit_samples:
        latent = latent[_sample(len(latent), int(max_fit_samples), random_state)]
    args = dict(model_args or {})
    args.pop("n_components", None)
    bics = []
    with _small_blas(model):
        for k in tqdm(ns, desc="BIC sweep", disable=not progress):
            est = make_estimator(model, {**args, "n_components": int(k)})
            est.fit(latent)
            bics.append(_bic(est, latent))
    return ns, np.asarray(bics)


def _bic(est, x) -> float:
    """BIC = -2 log L + p ln N, with p the free parameters of a Gaussian mixture (the same
    count as ``GaussianMixture.bic``; BayesianGaussianMixture has no ``bic`` of its own)."""
    n, d = x.shape
    k = est.n_components
    cov = {
        "full": k * d * (d + 1) / 2,
        "diag": k * d,
        "tied": d * (d + 1) / 2,
        "spherical": k,
    }[est.covariance_type]
    p = cov + k * d + k - 1
    return float(-2 * est.score(x) * n + p * np.log(n))
