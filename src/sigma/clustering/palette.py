"""The one cluster colour scheme used by every view.

Colours are hex strings. The sequence is prefix-stable: ``cluster_palette(n)[:m]`` equals
``cluster_palette(m)``, so a cluster keeps its default colour whatever the number of clusters.
It starts with the Tableau colours of matplotlib's ``tab10``/``tab20`` (the greys left out,
because grey is reserved for noise), then continues with evenly spread hues (golden-angle
steps in HSV) alternating in brightness. No plotting library is imported.
"""

from __future__ import annotations

import colorsys
import re

from sigma._errors import bad_value

__all__ = ["NOISE_COLOR", "cluster_palette", "normalise_color", "next_free_color"]

#: Colour of the noise label ``-1``.
NOISE_COLOR = "#7f7f7f"

# matplotlib's tab20 without its two greys: the dark members (tab10 order) first, then the
# light ones, so the first nine equal tab10 without grey.
_TABLEAU = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#bcbd22", "#17becf",
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
    "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5",
)  # fmt: skip

_GOLDEN = 0.618033988749895
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def _hsv_color(i: int) -> str:
    hue = (0.11 + i * _GOLDEN) % 1.0
    sat, val = ((0.75, 0.90), (0.55, 0.70), (0.90, 0.60))[i % 3]
    r, g, b = colorsys.hsv_to_rgb(hue, sat, val)
    return "#{:02x}{:02x}{:02x}".format(*(round(c * 255) for c in (r, g, b)))


def cluster_palette(n: int) -> list[str]:
    """Return ``n`` distinct default cluster colours as ``'#rrggbb'`` strings.

    Parameters
    ----------
    n : int
        Number of colours, >= 0.

    Returns
    -------
    list of str
        Colour ``i`` is the default colour of cluster id ``i``.

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
    out += [_hsv_color(i) for i in range(n - len(out))]
    # the HSV sequence never produces the Tableau colours or grey in practice; guarantee it
    seen: set[str] = set()
    for i, c in enumerate(out):
        j = i
        while c in seen or c == NOISE_COLOR:
            j += 7919
            c = _hsv_color(j)
        out[i] = c
        seen.add(c)
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
    """Return the first palette colour not in ``used``.

    Examples
    --------
    >>> next_free_color({"#1f77b4", "#2ca02c"})
    '#ff7f0e'
    """
    used = {normalise_color(c) for c in used}
    n = len(used) + 1
    for c in cluster_palette(n):
        if c not in used:
            return c
    raise AssertionError("unreachable: the palette has n distinct colours")  # pragma: no cover
