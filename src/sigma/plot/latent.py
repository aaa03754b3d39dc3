"""Figures of a latent space: density projection and clusters with their Gaussians."""

from __future__ import annotations

import logging

import numpy as np

from .._errors import bad_value
from ._figure import _ax_or_new, _subsample
from .colors import cluster_colors

log = logging.getLogger(__name__)


def plot_projection(latent, ax=None, max_points: int = 200_000, seed: int = 0):
    """Density-shaded scatter of a 2-D latent space (``gui.show_projection``).

    Examples
    --------
    >>> import numpy as np
    >>> ax = plot_projection(np.random.rand(100, 2))
    >>> ax.get_xlabel()
    'latent 1'
    """
    z = np.asarray(latent, dtype=float)
    if z.ndim != 2 or z.shape[1] < 2:
        raise bad_value("latent", z.shape, "an (N, 2) or wider array of latent coordinates")
    idx = _subsample(len(z), max_points, seed)
    ax = _ax_or_new(ax, (5.6, 4.8))
    hb = ax.hexbin(z[idx, 0], z[idx, 1], gridsize=120, bins="log", cmap="viridis", mincnt=1, linewidths=0)
    cb = ax.figure.colorbar(hb, ax=ax, shrink=0.85, pad=0.02)
    cb.set_label("points per hexagon (log scale)", fontsize=8)
    ax.set_xlabel("latent 1")
    ax.set_ylabel("latent 2")
    ax.set_title(f"Latent space ({len(z):,} points)")
    ax.set_aspect("equal", adjustable="datalim")
    return ax




def gaussian_ellipses(model, n_std: float = 2.0):
    """``[(mean_xy, width, height, angle_deg)]`` of a fitted Gaussian mixture's components.

    Reads ``means_`` and ``covariances_`` (any ``covariance_type``); returns ``[]`` for models
    without them (HDBSCAN...). Only the first two latent dimensions are drawn.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> m = SimpleNamespace(means_=np.zeros((1, 2)), covariances_=np.array([[[4.0, 0], [0, 1]]]),
    ...                     covariance_type="full")
    >>> [(float(w), float(h), float(a)) for _, w, h, a in gaussian_ellipses(m, 1.0)]
    [(4.0, 2.0, 0.0)]
    """
    means = getattr(model, "means_", None)
    covs = getattr(model, "covariances_", None)
    if means is None or covs is None:
        return []
    means = np.asarray(means, dtype=float)
    covs = np.asarray(covs, dtype=float)
    k, d = means.shape
    kind = getattr(model, "covariance_type", "full")
    out = []
    for i in range(k):
        if kind == "full":
            c = covs[i]
        elif kind == "tied":
            c = covs
        elif kind == "diag":
            c = np.diag(covs[i])
        else:  # spherical
            c = np.eye(d) * covs[i]
        c = c[:2, :2]
        vals, vecs = np.linalg.eigh(c)
        vals = np.clip(vals, 0, None)
        angle = float(np.degrees(np.arctan2(vecs[1, 1], vecs[0, 1])))
        out.append((means[i, :2], 2 * n_std * np.sqrt(vals[1]), 2 * n_std * np.sqrt(vals[0]), angle % 180.0))
    return out



def without_excluded(ps, idx) -> np.ndarray:
    """Pixel indices ``idx`` without those the segmenter's dataset excluded (outside the scan,
    no counts: ``ps.excluded_mask``). They are not data, and drawn in a latent view they make
    a clump of their own.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> ps = SimpleNamespace(excluded_mask=np.array([[True, False], [False, False]]))
    >>> without_excluded(ps, np.arange(4)).tolist()
    [1, 2, 3]
    """
    idx = np.asarray(idx)
    excluded = getattr(ps, "excluded_mask", None)
    if excluded is None:
        return idx
    return idx[~np.asarray(excluded).ravel()[idx]]

def plot_latent(ps, color: bool = True, ax=None, max_points: int = 200_000, ellipses: bool = True,
                seed: int = 0, s: float | None = None, legend: bool = True):
    """Latent space coloured by cluster (or grey), with GMM Gaussians as 2σ ellipses.

    Parameters
    ----------
    ps : PixelSegmenter
        Provides ``latent``, ``labels``, ``colors`` and, for GMM, ``model``.
    color : bool
        Colour points by their cluster; grey when False.
    ellipses : bool
        Draw the fitted Gaussians (``model.means_``/``covariances_``) when the model has them.
    legend : bool
        A legend of every cluster (id, and name once ``ps.cluster_names`` has one) beside the
        axes, in as many columns as needed.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> ps = SimpleNamespace(latent=np.random.rand(6, 2), labels=np.array([[0, 0, 1], [1, 1, 0]]),
    ...                      colors={0: "#ff0000", 1: "#0000ff"}, model=None)
    >>> len(plot_latent(ps).collections)
    1
    """
    from matplotlib.patches import Ellipse

    z = np.asarray(ps.latent, dtype=float)
    labels = np.asarray(ps.labels).ravel()
    idx = without_excluded(ps, _subsample(len(z), max_points, seed))
    ax = _ax_or_new(ax, (7.2, 5.2) if color and legend else (5.6, 5.2))
    if color:
        cols = cluster_colors(ps)
        from matplotlib.colors import to_rgba_array

        ids = np.array(sorted(cols))
        lut = to_rgba_array([cols[int(i)] for i in ids])
        c = lut[np.searchsorted(ids, labels[idx])]
    else:
        c = "0.35"
    s = float(np.clip(3e4 / max(len(idx), 1), 1.0, 16.0)) if s is None else s
    ax.scatter(z[idx, 0], z[idx, 1], c=c, s=s, linewidths=0, rasterized=True)
    if ellipses:
        for k, (mu, w, h, a) in enumerate(gaussian_ellipses(getattr(ps, "model", None))):
            ec = cluster_colors(ps).get(k, "k") if color else "k"
            ax.add_patch(Ellipse(mu, w, h, angle=a, fill=False, lw=1.0, ec="k" if not color else ec, alpha=0.9))
            ax.add_patch(Ellipse(mu, w, h, angle=a, fill=False, lw=0.4, ec="k", alpha=0.6))
    if color and legend:
        from matplotlib.lines import Line2D

        from .annotate import cluster_label

        cols = cluster_colors(ps)
        shown = set(np.unique(labels[idx]).tolist())
        handles = [Line2D([], [], ls="", marker="o", color=c_, label=cluster_label(ps, i))
                   for i, c_ in cols.items() if i >= 0 or i in shown]
        ax.legend(handles=handles, title="cluster", fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  frameon=False, ncols=1 + (len(handles) - 1) // 25, handletextpad=0.2, columnspacing=0.8)
    ax.set_xlabel("latent 1")
    ax.set_ylabel("latent 2")
    ax.set_aspect("equal", adjustable="datalim")
    return ax
