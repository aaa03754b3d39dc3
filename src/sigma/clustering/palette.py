"""The one cluster colour scheme used by every view, with colours a clear perceptual distance apart.

Colours are hex strings. The sequence is prefix-stable: ``cluster_palette(n)[:m]`` equals
``cluster_palette(m)``, so a cluster keeps its default colour whatever the number of clusters.
It starts with the Tableau colours of matplotlib's ``tab10``/``tab20`` (the greys left out,
because grey is reserved for noise); every later colour is the candidate farthest, in CIEDE2000
colour difference (ΔE00, computed in CIELAB), from all colours before it and from the noise grey.
Candidates are mid-lightness, saturated sRGB colours (neither near-white, near-black nor greyish,
so they stay visible over a grey navigation image). :func:`next_free_color` picks a new cluster's
colour the same way, away from the colours in use. No plotting library is imported.
"""

from __future__ import annotations

import functools
import re

import numpy as np

from sigma._errors import bad_value

__all__ = [
    "MIN_DELTA_E",
    "NOISE_COLOR",
    "cluster_palette",
    "delta_e",
    "next_free_color",
    "normalise_color",
]

#: Colour of the noise label ``-1``.
NOISE_COLOR = "#7f7f7f"

#: A palette colour is taken for a new cluster only when its ΔE00 to every colour in use is at
#: least this (about five times the difference that is just noticeable side by side).
MIN_DELTA_E = 20.0

# matplotlib's tab20 without its two greys: the dark members (tab10 order) first, then the
# light ones, so the first nine equal tab10 without grey.
_TABLEAU = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#bcbd22", "#17becf",
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
    "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5",
)  # fmt: skip

_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


# ----------------------------------------------------------------------------- colour science
def _rgb(hex_colors) -> np.ndarray:
    h = [c.lstrip("#") for c in hex_colors]
    return np.array([[int(c[i : i + 2], 16) for i in (0, 2, 4)] for c in h], dtype=float).reshape(-1, 3) / 255


def _hex(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(round(float(c) * 255)) for c in rgb))


def _lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] → CIELAB (D65)."""
    rgb = np.asarray(rgb, dtype=float)
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])  # fmt: skip
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    d = 6 / 29
    f = np.where(xyz > d**3, np.cbrt(xyz), xyz / (3 * d * d) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def _de2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference of CIELAB arrays (broadcasting over leading axes)."""
    l1, a1, b1 = np.moveaxis(np.asarray(lab1, float), -1, 0)
    l2, a2, b2 = np.moveaxis(np.asarray(lab2, float), -1, 0)
    cbar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(cbar**7 / (cbar**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    zero = c1p * c2p == 0
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(zero, 0.0, dh)
    d_l, d_c = l2 - l1, c2p - c1p
    d_h = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    lbar, cbarp = (l1 + l2) / 2, (c1p + c2p) / 2
    hsum = h1p + h2p
    hbar = np.where(np.abs(h1p - h2p) > 180, (hsum + 360) / 2, hsum / 2)
    hbar = np.where(zero, hsum, hbar)
    t = (1 - 0.17 * np.cos(np.radians(hbar - 30)) + 0.24 * np.cos(np.radians(2 * hbar))
         + 0.32 * np.cos(np.radians(3 * hbar + 6)) - 0.20 * np.cos(np.radians(4 * hbar - 63)))  # fmt: skip
    dtheta = 30 * np.exp(-(((hbar - 275) / 25) ** 2))
    rc = 2 * np.sqrt(cbarp**7 / (cbarp**7 + 25.0**7))
    sl = 1 + 0.015 * (lbar - 50) ** 2 / np.sqrt(20 + (lbar - 50) ** 2)
    sc = 1 + 0.045 * cbarp
    sh = 1 + 0.015 * cbarp * t
    rt = -np.sin(np.radians(2 * dtheta)) * rc
    return np.sqrt((d_l / sl) ** 2 + (d_c / sc) ** 2 + (d_h / sh) ** 2 + rt * (d_c / sc) * (d_h / sh))


def delta_e(color1, color2) -> float:
    """CIEDE2000 colour difference ΔE00 of two colours (about 1: just noticeable side by side).

    Examples
    --------
    >>> round(delta_e("#990f6d", "#990f5b"), 1)  # two colours a cluster map cannot tell apart
    4.5
    >>> round(delta_e("#1f77b4", "#ff7f0e"), 1)
    52.4
    """
    lab = _lab(_rgb([normalise_color(color1), normalise_color(color2)]))
    return float(_de2000(lab[0], lab[1]))


@functools.lru_cache(maxsize=1)
def _candidates() -> tuple[np.ndarray, np.ndarray]:
    """``(rgb, lab)`` of the mid-lightness, saturated sRGB colours new clusters may take."""
    g = np.linspace(0.0, 1.0, 18)
    rgb = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    lab = _lab(rgb)
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    keep = (lab[:, 0] >= 30) & (lab[:, 0] <= 85) & (chroma >= 30)
    return rgb[keep], lab[keep]


def _farthest(used_lab: np.ndarray) -> tuple[int, float]:
    """Index of the candidate whose smallest ΔE00 to ``used_lab`` is largest, and that ΔE00."""
    _, cand = _candidates()
    if len(used_lab) == 0:
        return 0, float("inf")
    d = _de2000(cand[:, None, :], used_lab[None, :, :]).min(axis=1)
    i = int(np.argmax(d))
    return i, float(d[i])


@functools.lru_cache(maxsize=1)
def _extension(n: int) -> tuple[str, ...]:
    """The first ``n`` colours after the Tableau ones (greedy farthest-point in ΔE00)."""
    rgb, cand = _candidates()
    used = _lab(_rgb([*_TABLEAU, NOISE_COLOR]))
    # running minimum distance of every candidate to the colours chosen so far
    dmin = _de2000(cand[:, None, :], used[None, :, :]).min(axis=1)
    out = []
    for _ in range(n):
        i = int(np.argmax(dmin))
        out.append(_hex(rgb[i]))
        dmin = np.minimum(dmin, _de2000(cand, cand[i][None, :]))
        dmin[i] = -1.0
    return tuple(out)


def cluster_palette(n: int) -> list[str]:
    """Return ``n`` distinct default cluster colours as ``'#rrggbb'`` strings.

    Parameters
    ----------
    n : int
        Number of colours, >= 0.

    Returns
    -------
    list of str
        Colour ``i`` is the default colour of cluster id ``i``. After the 18 Tableau colours,
        each colour is the one farthest (ΔE00) from all before it and from the noise grey.

    Examples
    --------
    >>> cluster_palette(3)
    ['#1f77b4', '#ff7f0e', '#2ca02c']
    >>> cluster_palette(40)[:3] == cluster_palette(3)
    True
    >>> len(set(cluster_palette(200)))
    200
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise bad_value("n", n, "an int >= 0")
    out = list(_TABLEAU[:n])
    extra = n - len(out)
    if extra > 0:
        # computed in blocks of 64 so that growing n rarely recomputes (prefix-stable anyway)
        out += list(_extension(64 * -(-extra // 64))[:extra])
    return out


def normalise_color(color) -> str:
    """Turn a colour into lower-case ``'#rrggbb'``.

    Parameters
    ----------
    color : str or tuple
        ``'#rgb'``, ``'#rrggbb'``, an RGB tuple of floats in [0, 1] or of ints in [0, 255].

    Examples
    --------
    >>> normalise_color("#F0A")
    '#ff00aa'
    >>> normalise_color((1.0, 0.5, 0.0))
    '#ff8000'
    >>> normalise_color((255, 0, 0))
    '#ff0000'
    """
    expected = "a colour as '#rrggbb', '#rgb' or an (r, g, b) tuple"
    if isinstance(color, str):
        if not _HEX.match(color):
            raise bad_value("color", color, expected)
        h = color[1:].lower()
        if len(h) == 3:
            h = "".join(ch * 2 for ch in h)
        return "#" + h
    try:
        rgb = tuple(color)
    except TypeError:
        raise bad_value("color", color, expected) from None
    if len(rgb) not in (3, 4) or not all(isinstance(c, int | float) for c in rgb):
        raise bad_value("color", color, expected)
    rgb = rgb[:3]
    if all(isinstance(c, int) and not isinstance(c, bool) for c in rgb) and any(c > 1 for c in rgb):
        if not all(0 <= c <= 255 for c in rgb):
            raise bad_value("color", color, expected)
        vals = rgb
    else:
        if not all(0.0 <= c <= 1.0 for c in rgb):
            raise bad_value("color", color, expected)
        vals = tuple(round(float(c) * 255) for c in rgb)
    return "#{:02x}{:02x}{:02x}".format(*vals)


def next_free_color(used) -> str:
    """A colour for a new cluster, clearly different from every colour in ``used``.

    The first palette colour (:func:`cluster_palette` order) whose CIEDE2000 difference to
    each used colour is at least :data:`MIN_DELTA_E`; when the palette has none left (many
    clusters, or hand-picked colours close to it), the candidate colour farthest from all
    used ones.

    Parameters
    ----------
    used : iterable of colours
        Colours already shown (include :data:`NOISE_COLOR` when noise is drawn).

    Examples
    --------
    >>> next_free_color({"#1f77b4", "#2ca02c"})
    '#ff7f0e'
    >>> used = cluster_palette(50) + [NOISE_COLOR]
    >>> min(delta_e(next_free_color(used), c) for c in used) > 10
    True
    """
    used = sorted({normalise_color(c) for c in used})
    if not used:
        return cluster_palette(1)[0]
    used_lab = _lab(_rgb(used))
    pal = cluster_palette(len(used) + 24)
    pal_lab = _lab(_rgb(pal))
    d = _de2000(pal_lab[:, None, :], used_lab[None, :, :]).min(axis=1)
    ok = np.flatnonzero((d >= MIN_DELTA_E) & ~np.isin(pal, used))
    if ok.size:
        return pal[int(ok[0])]
    i, dist = _farthest(used_lab)
    j = int(np.argmax(np.where(np.isin(pal, used), -1.0, d)))
    if d[j] >= dist:
        return pal[j]
    return _hex(_candidates()[0][i])
