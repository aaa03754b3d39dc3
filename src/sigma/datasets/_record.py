"""The one record of what pre-processing did to a spectrum dataset, and a features fingerprint.

A :class:`~sigma.datasets.SpectrumDataset` keeps the counts exactly as read and one
:class:`Processing` record of the steps applied to them (bin size, energy crop, whether the
spectra are normalised and over which channels, the energy calibration). Every spectrum the
tutorial reads (``spectra``, ``spectra_bin``, ``spectra_raw``, ``nav_img_bin`` ...) is a view
derived from the counts and this record, so the meaning of an attribute never depends on the
order of the calls.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import numpy as np

__all__ = ["Processing", "ProcessingRecord", "features_fingerprint"]


@dataclass(frozen=True)
class Processing:
    """The pre-processing steps applied to the counts (immutable; each step makes a new one).

    Attributes
    ----------
    bin_size : (int, int) or None
        ``(ny, nx)`` of :meth:`rebin_signal`; ``None`` when it never ran.
    crop : int
        First channel kept by :meth:`remove_first_peak` (0: none removed).
    normalised : bool
        :meth:`peak_intensity_normalisation` ran: spectra are divided by the pixel totals.
    norm_crop : int
        First channel of the totals the spectra are divided by (the crop in force when the
        normalisation ran).
    energy_scale, energy_offset : float
        keV per channel, and keV of channel ``crop``.

    Examples
    --------
    >>> p = Processing(energy_scale=0.01, energy_offset=0.0)
    >>> q = p.step(bin_size=(2, 2))
    >>> p.bin_size, q.bin_size, q.grid_factor
    (None, (2, 2), (2, 2))
    """

    bin_size: tuple[int, int] | None = None
    crop: int = 0
    normalised: bool = False
    norm_crop: int = 0
    energy_scale: float = 0.01
    energy_offset: float = 0.0

    def step(self, **changes) -> Processing:
        """A new record with ``changes`` applied."""
        return replace(self, **changes)

    @property
    def grid_factor(self) -> tuple[int, int]:
        """Bin factors of the analysis grid, ``(1, 1)`` when not binned."""
        return self.bin_size or (1, 1)


@dataclass(frozen=True)
class ProcessingRecord:
    """The counts on the analysis grid with the steps that made them (see :class:`Processing`).

    Attributes
    ----------
    counts : array
        ``(H, W, C)`` counts on the analysis grid (binned, energy-cropped), integer dtype for
        integer files; NumPy, or dask for a lazy dataset.
    steps : Processing
    valid : ndarray of bool, shape (H, W)
        Pixels with a finite spectrum, counts, and inside the scanned area.
    n_invalid : int
        ``(~valid).sum()``.

    Examples
    --------
    >>> import numpy as np
    >>> r = ProcessingRecord(np.ones((2, 2, 3), np.uint8), Processing(), np.array([[1, 1], [0, 1]], bool))
    >>> r.n_invalid
    1
    """

    counts: object
    steps: Processing
    valid: np.ndarray = field(repr=False)

    @property
    def n_invalid(self) -> int:
        """Number of excluded pixels on the analysis grid."""
        return int(np.size(self.valid) - np.count_nonzero(self.valid))


def features_fingerprint(features, extra=()) -> str:
    """A cheap fingerprint of an ``(H, W, F)`` feature array: shape, dtype and a sample.

    Hashes the shape, the dtype, ``extra`` (e.g. the feature names) and at most 65,536 values
    spread evenly over the array, so a segmenter can check in microseconds that the features
    it was fitted on are still the dataset's (a re-binning, a new feature list or a new
    normalisation changes it). ``None`` gives ``''``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((4, 5, 2), np.float32)
    >>> features_fingerprint(a) == features_fingerprint(a.copy())
    True
    >>> features_fingerprint(a) == features_fingerprint(a[:2])
    False
    >>> features_fingerprint(a, ["Fe_Ka"]) == features_fingerprint(a, ["Si_Ka"])
    False
    """
    if features is None:
        return ""
    a = np.asarray(features)
    h = hashlib.blake2b(digest_size=12)
    h.update(repr((a.shape, a.dtype.str, [str(x) for x in extra])).encode())
    flat = a.reshape(-1)
    step = max(1, flat.size // 65536)
    h.update(np.ascontiguousarray(flat[::step]).tobytes())
    return h.hexdigest()
