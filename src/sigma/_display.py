"""Arrays returned to a notebook cell show a one-line summary instead of flooding the output.

``sem.normalisation(...)`` returns the ``(H, W, F)`` feature cube: as a cell's last line it
used to print dozens of lines of numbers. :func:`quiet` returns a view of the array whose
notebook display (IPython's ``_repr_pretty_``) is one line; everything else (indexing, NumPy
functions, ``print``, ``repr``) is that of an ordinary ``ndarray``, and results computed from it
are plain arrays.
"""

from __future__ import annotations

import numpy as np

__all__ = ["QuietArray", "quiet"]


class QuietArray(np.ndarray):
    """An ``ndarray`` view displayed by IPython as one line (shape, dtype, what, value range).

    Examples
    --------
    >>> x = quiet(np.arange(6.0).reshape(2, 3), "feature maps")
    >>> from IPython.lib.pretty import pretty
    >>> pretty(x)
    '<2×3 float64 array: feature maps; values 0 to 5>'
    >>> type(x * 2).__name__, float(x.sum())
    ('ndarray', 15.0)
    """

    def __array_finalize__(self, obj):
        self._what = getattr(obj, "_what", "")

    def __array_wrap__(self, arr, context=None, return_scalar=False):
        out = np.asarray(arr)  # computed results are ordinary arrays
        return out[()] if return_scalar else out

    def _repr_pretty_(self, p, cycle):
        a = np.asarray(self)
        shape = "×".join(map(str, a.shape)) or "scalar"
        text = f"<{shape} {a.dtype} array"
        if getattr(self, "_what", ""):
            text += f": {self._what}"
        if a.size and np.issubdtype(a.dtype, np.number):
            finite = a[np.isfinite(a)] if np.issubdtype(a.dtype, np.floating) else a
            if finite.size:
                text += f"; values {finite.min():.4g} to {finite.max():.4g}"
        p.text(text + ">")


def quiet(array, what: str = "") -> QuietArray:
    """A view of ``array`` that a notebook displays as one line (no copy).

    Parameters
    ----------
    array : ndarray
    what : str
        Shown in the summary, e.g. ``'normalised features Fe_Ka, Si_Ka'``.
    """
    view = np.asarray(array).view(QuietArray)
    view._what = what
    return view
