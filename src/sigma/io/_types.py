"""The plain container every reader returns (one reader module per format family)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np


@dataclass
class RawData:
    """What a reader found in a file, before it becomes a HyperSpy/eXSpy signal.

    Parameters
    ----------
    data
        ``(H, W, C)`` spectrum cube (``kind='spectrum'``) or ``(H, W, F)`` stack of element maps
        (``kind='maps'``); a NumPy array, or a dask array chunked along the navigation axes when
        read lazily. Raw counts keep their integer dtype.
    kind
        ``'spectrum'`` or ``'maps'``.
    path
        The file it came from (``None`` for in-memory data).
    energy_scale, energy_offset
        Energy axis in keV per channel and keV at channel 0.
    nav_scale, nav_offset, nav_units
        Pixel size ``(y, x)``, origin ``(y, x)`` and unit of the navigation axes.
    nav_images
        Named ``(H, W)`` electron images (BSE, SE, HAADF...), the preferred navigator first.
    signal_type
        ``'EDS_SEM'`` or ``'EDS_TEM'``.
    beam_energy
        Accelerating voltage in kV, if known.
    energy_resolution_mnka
        Detector FWHM at Mn Kα in eV, if the file stores it.
    elements, xray_lines
        What the file names.
    feature_names
        Names of the maps when ``kind='maps'``.
    metadata
        Anything else worth keeping (flat, JSON-friendly where possible).
    calibrated
        False when the energy axis is a guess the user should check.
    valid
        ``(H, W)`` bool mask of the pixels inside the scanned area, when the file says which
        are (``None``: every pixel was scanned). Pixels with NaN, negative or no counts are
        found by the dataset itself; this mask adds what only the file knows.

    Examples
    --------
    >>> import numpy as np
    >>> raw = RawData(data=np.zeros((2, 3, 4), np.uint16))
    >>> raw.shape
    (2, 3, 4)
    """

    data: Any
    kind: Literal["spectrum", "maps"] = "spectrum"
    path: Path | None = None
    energy_scale: float = 0.01
    energy_offset: float = 0.0
    nav_scale: tuple[float, float] = (1.0, 1.0)
    nav_offset: tuple[float, float] = (0.0, 0.0)
    nav_units: str = "px"
    nav_images: dict[str, np.ndarray] = field(default_factory=dict)
    signal_type: Literal["EDS_SEM", "EDS_TEM"] = "EDS_SEM"
    beam_energy: float | None = None
    energy_resolution_mnka: float | None = None
    elements: list[str] = field(default_factory=list)
    xray_lines: list[str] = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    calibrated: bool = True
    valid: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of :attr:`data`."""
        return tuple(self.data.shape)
