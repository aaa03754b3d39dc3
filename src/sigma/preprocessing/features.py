"""X-ray line intensity maps: counts summed over line ± FWHM(E).

The window of a line at energy :math:`E` spans :math:`E \\pm w\\,\\mathrm{FWHM}(E)` with the
Fiori–Newbury resolution model (:func:`sigma.xray.fwhm`) and ``w = 1`` by default — the same
window as HyperSpy/eXSpy's ``get_lines_intensity`` with its default ``integration_windows=2``.
Channel ``i`` sits at ``offset + i * scale``; the window covers channels
``round((E - wF - offset) / scale)`` up to, but excluding, ``round((E + wF - offset) / scale)``.
With ``background=True`` the mean of two windows of the same width placed at
:math:`E \\pm 2.5\\,w\\,\\mathrm{FWHM}` is subtracted (a linear background under the peak).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .._blocks import map_row_blocks
from .._errors import bad_value
from ..xray import fwhm, line_energy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Window:
    """Channel range ``[lo, hi)`` of one line, and its background windows when used.

    Examples
    --------
    :func:`line_windows` makes them from line names:

    >>> w = line_windows(["Fe_Ka"], 0.01, 0.0, 2048, background=True)[0]
    >>> w.line, w.energy, (w.lo, w.hi)
    ('Fe_Ka', 6.4039, (627, 654))
    >>> w.bg_left, w.bg_right
    ((594, 621), (661, 688))
    """

    line: str
    energy: float
    lo: int
    hi: int
    bg_left: tuple[int, int] | None = None
    bg_right: tuple[int, int] | None = None


def line_windows(
    lines, scale: float, offset: float, n_channels: int, *, fwhm_mnka: float = 130.0,
    width: float = 1.0, background: bool = False,
) -> list[Window]:
    """Integration windows of X-ray lines on an energy axis.

    Raises a clear error for an unknown line or a line outside the energy axis.

    Examples
    --------
    >>> w = line_windows(["Fe_Ka"], 0.01, 0.0, 2048)[0]
    >>> (w.lo, w.hi)
    (627, 654)
    """
    if scale <= 0:
        raise bad_value("scale", scale, "a positive energy step in keV per channel")
    out = []
    e_max = offset + scale * n_channels
    for line in lines:
        e = line_energy(line)
        f = float(fwhm(e, fwhm_mnka)) * width
        lo = int(round((e - f - offset) / scale))
        hi = int(round((e + f - offset) / scale))
        centre = (e - offset) / scale
        if not 0 <= centre < n_channels or hi <= lo:
            raise bad_value(
                "feature_list", line,
                f"X-ray lines inside the energy axis {offset:.3f}–{e_max:.3f} keV ({line} is at {e:.3f} keV)",
            )
        if lo < 0 or hi > n_channels:
            # the line is on the axis but its window crosses an end (Be Kα at 0.103 keV on an
            # axis cropped at 0.1 keV): integrate the part that is there
            log.info("%s at %.3f keV: window %.3f-%.3f keV clipped to the energy axis %.3f-%.3f keV",
                     line, e, e - f, e + f, offset, e_max)  # fmt: skip
            lo, hi = max(lo, 0), min(hi, n_channels)
            if hi - lo < 1:
                raise bad_value("feature_list", line, f"X-ray lines with at least one channel on the axis {offset:.3f}–{e_max:.3f} keV")
        bl = br = None
        if background:
            n = hi - lo
            c_left = int(round((e - 2.5 * f - offset) / scale))
            c_right = int(round((e + 2.5 * f - offset) / scale))
            bl = (max(0, c_left - n // 2), max(1, c_left - n // 2 + n))
            br = (min(n_channels - 1, c_right - n // 2), min(n_channels, c_right - n // 2 + n))
        out.append(Window(line, e, lo, hi, bl, br))
    return out


def _maps_block(block, windows):
    out = np.empty(block.shape[:-1] + (len(windows),), dtype=np.float32)
    for i, w in enumerate(windows):
        s = block[..., w.lo : w.hi].sum(axis=-1, dtype=np.float32)
        if w.bg_left is not None:
            left = block[..., w.bg_left[0] : w.bg_left[1]].mean(axis=-1, dtype=np.float32)
            right = block[..., w.bg_right[0] : w.bg_right[1]].mean(axis=-1, dtype=np.float32)
            s = s - (w.hi - w.lo) * 0.5 * (left + right)
        out[..., i] = s
    return out


def feature_maps(data, windows: list[Window]):
    """Sum an ``(H, W, C)`` cube over each window → ``(H, W, F)`` float32 maps.

    Works on NumPy arrays in row blocks, or on a dask array chunk by chunk (dask in, dask out;
    nothing is computed until asked). NaN counts are treated as zero.

    Examples
    --------
    >>> import numpy as np
    >>> cube = np.ones((2, 3, 100), np.uint8)
    >>> w = line_windows(["Si_Ka"], 0.02, 0.0, 100)
    >>> feature_maps(cube, w)[..., 0]
    array([[8., 8., 8.],
           [8., 8., 8.]], dtype=float32)
    """
    if data.ndim != 3:
        raise bad_value("data", data.shape, "an (H, W, C) spectrum image")
    if not windows:
        raise bad_value("feature_list", [], "at least one X-ray line")
    if hasattr(data, "dask"):
        x = data.rechunk({2: -1})
        return x.map_blocks(
            lambda b: np.nan_to_num(_maps_block(b, windows)), dtype=np.float32,
            chunks=(x.chunks[0], x.chunks[1], (len(windows),)),
        )
    out = np.empty(data.shape[:2] + (len(windows),), dtype=np.float32)

    def work(blk, r0, r1):
        out[r0:r1] = _maps_block(blk, windows)

    map_row_blocks(work, data)
    if data.dtype.kind == "f":
        np.nan_to_num(out, copy=False)
    return out
