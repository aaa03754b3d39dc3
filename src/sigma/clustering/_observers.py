"""Change notifications of a PixelSegmenter, so that every open view can follow its edits.

A view registers ``ps.observe(callback)``; after every edit (merge, create, recolour, reset,
undo), every new NMF and every :meth:`~ObserversMixin.notify_changed` call, the segmenter calls
``callback(change)`` once, with a :class:`Change` saying what changed. Bound methods are held
through weak references, so a view that is closed and forgotten is not kept alive by the
segmenter (and its callback is dropped); other callables are held normally until
:meth:`~ObserversMixin.unobserve`. A callback that raises is logged and never breaks the edit.
"""

from __future__ import annotations

import logging
import weakref
from typing import NamedTuple

logger = logging.getLogger(__name__)

#: What a :class:`Change` may report.
KINDS = ("labels", "colors", "nmf", "names")


class Change(NamedTuple):
    """One change of a segmenter.

    Attributes
    ----------
    segmenter : PixelSegmenter
    what : {'labels', 'colors', 'nmf', 'names'}
        ``'labels'``: pixels changed cluster or clusters appeared/vanished (colours may have
        changed too); ``'colors'``: only display colours; ``'nmf'``: a new unmixing result was
        stored; ``'names'``: cluster names (e.g. ``cluster_names``) changed.
    op : str
        The operation: ``'merge_clusters'``, ``'create_cluster'``,
        ``'create_cluster_from_latent_region'``, ``'recolour'``, ``'reset'``, ``'undo'``,
        ``'nmf'`` or what :meth:`~ObserversMixin.notify_changed` was given.
    """

    segmenter: object
    what: str
    op: str


class _Observers:
    """The callbacks of one segmenter; never copied or pickled along with it."""

    __slots__ = ("refs",)

    def __init__(self):
        self.refs: list = []

    def __deepcopy__(self, memo):
        return _Observers()

    def __copy__(self):
        return _Observers()

    def __reduce__(self):
        return (_Observers, ())


def _ref(callback):
    if getattr(callback, "__self__", None) is not None and hasattr(callback, "__func__"):
        return weakref.WeakMethod(callback)
    return lambda: callback


class ObserversMixin:
    """``observe`` / ``unobserve`` / ``notify_changed``; see :class:`Change`.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from sigma.clustering import PixelSegmenter
    >>> ds = SimpleNamespace(normalised_elemental_data=np.zeros((2, 3, 1), np.float32))
    >>> latent = np.r_[np.zeros((3, 2)), np.ones((3, 2))]
    >>> ps = PixelSegmenter(latent, ds, "Kmeans", {"n_clusters": 2, "n_init": 1})
    >>> seen = []
    >>> ps.observe(lambda change: seen.append((change.what, change.op)))
    >>> ps.merge_clusters([0, 1])
    >>> ps.recolour(0, "#000000")
    >>> ps.undo()
    >>> seen
    [('labels', 'merge_clusters'), ('colors', 'recolour'), ('labels', 'undo')]
    """

    def _observer_list(self) -> list:
        obs = self.__dict__.get("_observers")
        if obs is None:
            obs = self.__dict__["_observers"] = _Observers()
        return obs.refs

    def observe(self, callback) -> None:
        """Call ``callback(change)`` after every change of this segmenter.

        Parameters
        ----------
        callback : callable
            Receives a :class:`Change`. A bound method is referenced weakly (the object may
            be garbage-collected; its callback then stops); anything else until
            :meth:`unobserve`. Registering the same callback twice has no effect.
        """
        if not callable(callback):
            from sigma._errors import bad_value

            raise bad_value("callback", callback, "a callable taking one Change argument")
        refs = self._observer_list()
        if any(r() == callback for r in refs):
            return
        refs.append(_ref(callback))

    def unobserve(self, callback) -> None:
        """Stop calling ``callback`` (no error when it was not observing)."""
        refs = self._observer_list()
        refs[:] = [r for r in refs if r() is not None and r() != callback]

    @property
    def n_observers(self) -> int:
        """Number of live callbacks."""
        return sum(r() is not None for r in self._observer_list())

    def notify_changed(self, what: str = "names", op: str | None = None) -> None:
        """Tell every observer that ``what`` changed (for changes made outside the edit
        methods, e.g. after setting ``cluster_names``).

        Parameters
        ----------
        what : {'labels', 'colors', 'nmf', 'names'}
        op : str, optional
            Defaults to ``what``.
        """
        if what not in KINDS:
            from sigma._errors import bad_value

            raise bad_value("what", what, "one of " + ", ".join(repr(k) for k in KINDS))
        change = Change(self, what, op or what)
        refs = self._observer_list()
        for r in list(refs):
            cb = r()
            if cb is None:
                refs.remove(r)
                continue
            try:
                cb(change)
            except Exception:  # a broken view must never undo or block an edit
                logger.warning("observer %r failed on %s/%s", cb, what, change.op, exc_info=True)
