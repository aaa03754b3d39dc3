"""Helpers shared by the readers: turning RosettaSciIO dictionaries into :class:`RawData`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import bad_file
from ._types import RawData

log = logging.getLogger(__name__)

#: Target size of one lazy chunk (bytes): whole rows of the map, every channel.
CHUNK_BYTES = 64 * 2**20


def nav_chunks(
    shape: tuple[int, ...], itemsize: int, target: int = CHUNK_BYTES, *, align: int = 1
) -> tuple:
    """Chunks for an ``(H, W, C)`` cube: blocks of whole rows of about ``target`` bytes.

    The readers' face of :func:`sigma._blocks.get_chunking` (the one chunk utility).

    ``align`` (the rows of one chunk of the file, for example an HDF5 chunk) makes the number
    of rows per block a multiple of it, so no file chunk is read by two blocks; a block never
    holds fewer rows than ``align`` (nor more than ``H``).

    Examples
    --------
    >>> nav_chunks((100, 50, 2048), 2, target=2**20)
    (5, 50, 2048)
    >>> nav_chunks((100, 50, 2048), 2, target=2**20, align=4)
    (4, 50, 2048)
    >>> nav_chunks((100, 50, 2048), 2, target=2**20, align=15)
    (15, 50, 2048)
    """
    from .._blocks import get_chunking

    rows = get_chunking(shape, np.dtype((np.void, max(1, int(itemsize)))), limit=target, align=align)[0]
    return (rows[0], shape[1], *shape[2:])


def rechunk_nav(data, target: int = CHUNK_BYTES):
    """Rechunk a dask cube to whole-row blocks (no-op for NumPy arrays)."""
    if hasattr(data, "rechunk"):
        return data.rechunk(nav_chunks(data.shape, data.dtype.itemsize, target))
    return data


def get(md: dict, dotted: str, default=None):
    """Read ``'A.B.C'`` from nested dicts.

    A key stored with spaces round it is found too, as HyperSpy's metadata finds it: eXSpy's
    ``EDSTEMSpectrum.set_microscope_parameters(beam_energy=...)`` (0.3) writes
    ``'beam_energy '``, and files saved after it hold that key.

    Examples
    --------
    >>> get({"A": {"B": 3}}, "A.B"), get({}, "A.B", 0)
    (3, 0)
    >>> get({"TEM": {"beam_energy ": 300.0}}, "TEM.beam_energy")
    300.0
    """
    node: Any = md
    for key in dotted.split("."):
        if not isinstance(node, dict):
            return default
        if key not in node:
            key = next((k for k in node if isinstance(k, str) and k.strip() == key), None)
            if key is None:
                return default
        node = node[key]
    return node


def as_str_list(v) -> list[str]:
    """Normalise a metadata list (array, tuple, bytes) into ``list[str]``."""
    if v is None:
        return []
    if isinstance(v, (str, bytes)):
        v = [v]
    return [x.decode() if isinstance(x, bytes) else str(x) for x in list(v)]


def energy_axis_keV(axis: dict) -> tuple[float, float, bool]:
    """Scale and offset of an energy axis dictionary in keV, and whether units were known."""
    units = str(axis.get("units") or "").strip()
    scale, offset = float(axis.get("scale", 1.0)), float(axis.get("offset", 0.0))
    if units == "eV":
        return scale / 1000.0, offset / 1000.0, True
    if units == "keV":
        return scale, offset, True
    return scale, offset, False


def from_rsciio_spectrum(
    path: Path, sig: dict, *, signal_type: str, nav_images=None, extra_md=None
) -> RawData:
    """Build :class:`RawData` from one RosettaSciIO signal dictionary holding a spectrum image."""
    data = sig["data"]
    axes = sig["axes"]
    if data.ndim == 2:  # line scan: one row
        data = data[None, ...]
        axes = [{"name": "y", "scale": 1.0, "offset": 0.0, "units": axes[0].get("units")}, *axes]
    if data.ndim != 3:
        raise bad_file(path, f"holds a {data.ndim}-D signal", "a spectrum image (rows, columns, channels)")
    md = sig.get("metadata", {})
    scale, offset, known = energy_axis_keV(axes[-1])
    inst = "TEM" if signal_type == "EDS_TEM" else "SEM"
    beam = get(md, f"Acquisition_instrument.{inst}.beam_energy")
    res = get(md, f"Acquisition_instrument.{inst}.Detector.EDS.energy_resolution_MnKa")
    units = axes[0].get("units") or axes[1].get("units") or "px"
    raw = RawData(
        data=data,
        kind="spectrum",
        path=path,
        energy_scale=scale,
        energy_offset=offset,
        nav_scale=(float(axes[0].get("scale", 1.0)), float(axes[1].get("scale", 1.0))),
        nav_offset=(float(axes[0].get("offset", 0.0)), float(axes[1].get("offset", 0.0))),
        nav_units=str(units),
        nav_images=dict(nav_images or {}),
        signal_type=signal_type,
        beam_energy=float(beam) if beam is not None else None,
        energy_resolution_mnka=float(res) if res is not None else None,
        elements=as_str_list(get(md, "Sample.elements")),
        xray_lines=as_str_list(get(md, "Sample.xray_lines")),
        metadata={"title": get(md, "General.title", ""), **(extra_md or {})},
        calibrated=known,
    )
    return raw


def fit_image_to_grid(img: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bring an electron image onto the EDS grid (same field of view): exact match, else the
    area-weighted mean of :func:`sigma._resample.resample` (a block mean for integer factors).

    Examples
    --------
    >>> fit_image_to_grid(np.arange(16.0).reshape(4, 4), (2, 2)).tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    """
    from .._resample import resample

    img = np.asarray(img, dtype=np.float32)
    if img.shape == tuple(shape):
        return img
    return resample(img, shape, mode="area")


def wrap_reader_error(path: Path, exc: BaseException):
    """Turn a low-level reader exception into a file error naming the path.

    Only a failure of the content is called "truncated or corrupt": a missing file, a
    permission problem or a lack of memory says so instead.

    Examples
    --------
    >>> str(wrap_reader_error(Path("a.bcf"), PermissionError(13, "Permission denied")))
    "File 'a.bcf' could not be opened: permission denied; expected a file you may read (check its permissions)."
    >>> str(wrap_reader_error(Path("a.bcf"), MemoryError()))[:64]
    "File 'a.bcf' needs more memory than is free to read it (MemoryEr"
    """
    log.debug("reader error for %s", path, exc_info=exc)
    if isinstance(exc, PermissionError):
        return bad_file(path, "could not be opened: permission denied",
                        "a file you may read (check its permissions)")
    if isinstance(exc, MemoryError):
        detail = f": {exc}" if str(exc) else ""
        return bad_file(path, f"needs more memory than is free to read it (MemoryError{detail}); "
                        "the file itself may be fine",
                        "more free memory, lazy=True, or a downsampled read")
    if isinstance(exc, FileNotFoundError):
        missing = getattr(exc, "filename", None) or path
        need = f" (needed to read '{path}')" if str(missing) != str(path) else ""
        return bad_file(missing, "does not exist" + need)
    if isinstance(exc, IsADirectoryError):
        return bad_file(path, "is a folder", "a file")
    return bad_file(
        path,
        f"could not be read ({type(exc).__name__}: {exc}); it may be truncated or corrupt",
    )
