"""Selections in latent space: points inside a polygon or a box (vectorised numpy)."""

from __future__ import annotations

import numpy as np

from sigma._errors import bad_value

__all__ = ["points_in_polygon", "points_in_region"]


def points_in_polygon(points, vertices) -> np.ndarray:
    """Boolean mask of the points inside a closed polygon (even-odd rule).

    The same rule as ``matplotlib.path.Path(vertices).contains_points(points)``, done with one
    vectorised pass per polygon edge (the polygon need not be convex or repeat its first
    vertex).

    Parameters
    ----------
    points : array_like, shape (N, 2)
    vertices : array_like, shape (V, 2), V >= 3

    Returns
    -------
    ndarray of bool, shape (N,)

    Examples
    --------
    >>> square = [(0, 0), (2, 0), (2, 2), (0, 2)]
    >>> points_in_polygon([(1, 1), (3, 1), (1.9, 0.1)], square).tolist()
    [True, False, True]
    """
    pts = np.asarray(points, dtype=np.float64)
    ver = np.asarray(vertices, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise bad_value("points", pts.shape, "an array of shape (N, 2)")
    if ver.ndim != 2 or ver.shape[1] != 2 or len(ver) < 3 or not np.isfinite(ver).all():
        raise bad_value("vertices", ver.tolist(), "at least 3 finite (x, y) vertices")
    x, y = pts[:, 0], pts[:, 1]
    inside = np.zeros(len(pts), dtype=bool)
    xj, yj = ver[-1]
    for xi, yi in ver:
        crosses = (yi > y) != (yj > y)
        if crosses.any():
            with np.errstate(divide="ignore", invalid="ignore"):
                x_at = xi + (y - yi) * (xj - xi) / (yj - yi)
            inside ^= crosses & (x < x_at)
        xj, yj = xi, yi
    return inside


def points_in_region(points, region) -> np.ndarray:
    """Points inside a polygon ``(V, 2)`` or a box ``(xmin, ymin, xmax, ymax)``.

    Examples
    --------
    >>> points_in_region([(0.5, 0.5), (2, 2)], (0, 0, 1, 1)).tolist()
    [True, False]
    """
    reg = np.asarray(region, dtype=np.float64)
    if reg.ndim == 1:
        if reg.shape != (4,) or not np.isfinite(reg).all():
            raise bad_value(
                "region", region, "a box (xmin, ymin, xmax, ymax) or polygon vertices (V, 2)"
            )
        x0, y0, x1, y1 = reg
        x0, x1 = min(x0, x1), max(x0, x1)
        y0, y1 = min(y0, y1), max(y0, y1)
        pts = np.asarray(points, dtype=np.float64)
        return (pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)
    if reg.ndim != 2 or reg.shape[1] != 2 or len(reg) < 3:
        raise bad_value(
            "region", region, "a box (xmin, ymin, xmax, ymax) or polygon vertices (V, 2)"
        )
    return points_in_polygon(points, reg)
