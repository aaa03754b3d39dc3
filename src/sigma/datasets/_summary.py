"""The one read of a dataset's cube and what comes from it.

All the numbers the pre-processing needs (pixel totals, finite flags, valid pixels, the sum
spectrum, the line-window sums of the feature list and, for an eager binned dataset, the
binned cube) come from one pass over the cube
(:func:`sigma.preprocessing.cubepass.summarise_cube`), done when first needed; a later change of
the feature list reads only the new lines' channels.

A lazy dataset of integer counts keeps, from that same pass, an exact sparse copy of its counts
on the analysis grid (:mod:`sigma.preprocessing.sparsecube`) when it is small (EDS counts are
mostly zeros); every later pass over the analysis counts (energy bands, cluster spectra,
abundances) then reads memory, and the file is read once in all. Mixed into
:class:`~sigma.datasets.base.SpectrumDataset`.
"""

from __future__ import annotations

import logging
import sys

import numpy as np

from .._errors import SigmaValueError
from .._progress import compute
from ..preprocessing import bin_image, feature_maps
from ..preprocessing.binning import binned_shape
from ..preprocessing.cubepass import summarise_cube
from ..preprocessing.features import Window
from ..xray import is_xray_line

log = logging.getLogger("sigma.datasets.base")


class _SummaryMixin:
    """The one pass over the counts (``_ensure_summary``) and the totals, valid pixels and
    window sums taken from it."""

    def _feature_windows(self) -> list[tuple[int, int]]:
        """Absolute channel windows of the current feature list (read with the first pass)."""
        lines = [f for f in self.xray_lines if is_xray_line(f)]
        try:
            wins = self._line_windows(lines) if lines else []
        except SigmaValueError:  # a line that no longer fits is refused later, clearly
            return []
        c0 = self._steps.crop
        return [(w.lo + c0, w.hi + c0) for w in wins]

    def _ensure_summary(self, windows=(), *, force: bool = False):
        """Read the cube once: totals, finite flags, sum spectrum, the feature list's windows
        (plus ``windows``) and, for an eager binned dataset, the binned cube."""
        if self._summary is not None and not force:
            return self._summary
        wins = list(dict.fromkeys([*self._feature_windows(), *windows]))
        limit = self._memory_limit()
        bin_size = self._steps.bin_size if (limit is not None or not self.lazy) else None
        s = summarise_cube(self._counts, wins, valid=self._valid_in, bin_size=bin_size,
                           desc="reading the spectra", sparse_limit=limit)
        self._summary = s
        self._wins.update(s.windows)
        if s.sparse is not None:
            log.info("%s: the counts on the analysis grid are kept in memory (%s); later passes "
                     "read them, not the file", self.info.path or "data", s.sparse)
            self._memory = (bin_size, s.sparse, s.sparse.to_dask())
            self._views.clear()  # views made before read the file; they now read the copy
        elif bin_size is not None:
            self._binned = (bin_size, s.binned)
        n_bad = int(s.valid.size - np.count_nonzero(s.valid))
        if n_bad:
            scanned = np.ones(s.valid.shape, bool) if self._valid_in is None else self._valid_in
            n_out = int(np.count_nonzero(~scanned))
            n_nan = int(np.count_nonzero(s.bad & scanned))
            # a faint map has many pixels with no counts; a binned pixel is left out only when
            # it has none at all (or holds a NaN or unscanned pixel): say which is which
            log.info("%s: %d of %d pixels excluded: %d with no counts, %d holding NaN or inf, %d "
                     "outside the scan (a binned pixel is excluded only when it has no counts at all "
                     "or holds one of the last two)", self.info.path or "data", n_bad, s.valid.size,
                     n_bad - n_out - n_nan, n_nan, n_out)
        return s

    def _memory_limit(self) -> int | None:
        """Bytes a lazy dataset may keep of its counts in memory (``None``: keep none).

        A lazy cube of integer counts is kept, from its one read, as an exact sparse copy on
        the analysis grid when that takes at most
        :func:`~sigma.preprocessing.sparsecube.copy_budget` bytes; not on dask.distributed
        workers (each would receive the copy), nor for an eager dataset (already in memory).
        """
        if not self.lazy or np.dtype(self._counts.dtype).kind not in "ui" or _distributed():
            return None
        from ..preprocessing.sparsecube import copy_budget

        return copy_budget(self._counts.nbytes)

    def _memory_counts(self, bin_size):
        """The in-memory copy of the counts (a dask cube over it) when it is on the grid of
        ``bin_size`` (``None``: full resolution), else ``None``."""
        mem = self._memory
        if mem is None or mem[0] != bin_size:
            return None
        return mem[2]

    def _window_counts(self, pairs, full: bool) -> list[np.ndarray]:
        """``(H, W)`` float32 counts in each absolute channel window, on the full-resolution
        grid or the analysis grid; only windows never read before are read."""
        missing = [p for p in dict.fromkeys(pairs) if p not in self._wins]
        if missing and self._summary is None:
            self._ensure_summary(missing)
            missing = [p for p in missing if p not in self._wins]
        if missing:
            wins = [Window(f"{lo}:{hi}", 0.0, lo, hi) for lo, hi in missing]
            (new,) = compute(feature_maps(self._full_counts(), wins), desc="line maps")
            new = np.asarray(new, dtype=np.float32)
            for i, p in enumerate(missing):
                self._wins[p] = new[..., i]
        out = [self._wins[p] for p in pairs]
        if full or self._steps.bin_size is None:
            return out
        return [bin_image(m, self._steps.bin_size) for m in out]

    def _on_grid(self, img, full: bool):
        if full or self._steps.bin_size is None:
            return img
        return bin_image(img, self._steps.bin_size)

    def _totals(self, full: bool = False, from_channel: int = 0) -> np.ndarray:
        """``(H, W)`` float64 pixel totals over channels ``from_channel:``."""
        s = self._ensure_summary()
        tot = s.totals
        if from_channel:
            (head,) = self._window_counts([(0, int(from_channel))], True)
            tot = tot - head
        if full or self._steps.bin_size is None:
            return tot
        fy, fx = self._steps.bin_size
        h, w = binned_shape(tot.shape, (fy, fx))
        return tot[: h * fy, : w * fx].reshape(h, fy, w, fx).sum(axis=(1, 3))

    def _measured(self) -> np.ndarray:
        """``(H, W)`` bool on the analysis grid: scanned and finite (a binned pixel: all of its
        pixels), whatever its counts."""
        s = self._ensure_summary()
        bad = s.bad if self._valid_in is None else (s.bad | ~self._valid_in)
        if self._steps.bin_size is None:
            return ~bad
        return bin_image(bad.astype(np.float32), self._steps.bin_size) == 0

    def _valid(self, full: bool = False) -> np.ndarray:
        if full or self._steps.bin_size is None:
            return self._ensure_summary().valid
        return self._measured() & (self._totals() > 0)

    def _empty(self) -> np.ndarray:
        """``(H, W)`` bool on the analysis grid: scanned and finite, but without a count."""
        return self._measured() & (self._totals() == 0)

    def _valid_for_features(self):
        v = self._valid()
        return None if v.all() else v


def _distributed() -> bool:
    """Whether a dask.distributed client is active (the passes then run on its workers).

    A client exists only once ``distributed`` is imported, so it is not imported here (as
    dask's own scheduler lookup does): importing it costs 0.2-0.5 s in a fresh process.
    """
    if "distributed" not in sys.modules:
        return False
    from distributed import default_client
    try:
        default_client()
    except ValueError:
        return False
    return True
