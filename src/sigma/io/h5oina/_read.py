"""Reading an EDS map (spectrum cube or element maps) from an ``.h5oina`` file."""

from __future__ import annotations

import logging
import os
from typing import Any, Literal

import numpy as np

from ..._errors import bad_file, bad_value
from .._lazy import HDF5Rows
from .._types import RawData
from ._images import _read_images
from ._spec import (
    _MAP_GROUPS,
    _UM,
    SPEC,
    _check_path,
    _detectors,
    _elements_and_lines,
    _header_dict,
    _map_datasets,
    _open,
    _require_group,
    _required_scalar,
    _resolve_detector,
    _resolve_site,
    _scalar,
    _sites,
)

logger = logging.getLogger("sigma.io.h5oina")


def _dask_chunks(chunks) -> tuple:
    if chunks is None:
        return ("auto", -1, -1)
    if isinstance(chunks, int | np.integer) and chunks > 0:
        return (int(chunks), -1, -1)
    if (
        isinstance(chunks, tuple | list)
        and len(chunks) in (2, 3)
        and all(isinstance(c, int | np.integer) and (c > 0 or c == -1) for c in chunks)
    ):
        return (int(chunks[0]), int(chunks[1]), -1)
    raise bad_value(
        "chunks",
        chunks,
        "None, a positive number of map rows per chunk, or a (rows, columns) pair of ints",
    )



def read_h5oina(
    path: str | os.PathLike,
    *,
    site: str | int | None = None,
    detector: str | None = None,
    lazy: bool = False,
    chunks: int | tuple[int, int] | None = None,
    out_of_scan: Literal["nan", "zero"] = "nan",
) -> RawData:
    """Read an EDS map (spectrum cube, or element maps) from an AZtec ``.h5oina`` file.

    Parameters
    ----------
    path
        The ``.h5oina`` file.
    site
        Slice group to read (Spec: Slice Group Specification; ``"1"``, ``"2"``, ...). ``None``
        reads the first slice listed in the root ``Index``.
    detector
        EDS technique group: ``"EDS"`` or, for multi-detector (Unity) systems, ``"EDS1"``,
        ``"EDS2"``... (Spec: Slice, new in 6.0). ``None`` reads the first one.
    lazy
        Return a dask array chunked along the navigation axes; each chunk opens the file and
        reads only its own rows of pixels from ``Data/Spectrum``
        (:class:`~sigma.io._lazy.HDF5Rows`), so the graph pickles and dask.distributed workers
        can compute it.
    chunks
        ``None`` (dask's automatic size, whole rows), an int (map rows per chunk) or a
        ``(rows, columns)`` pair. The energy axis is never split.
    out_of_scan
        How pixels outside the acquisition area are returned when the file has any (see the
        module docstring): ``'nan'`` (float32 cube, NaN there) or ``'zero'`` (integer cube,
        0 counts there). ``metadata['valid_mask']`` marks the scanned pixels in both cases.

    Returns
    -------
    RawData
        ``kind='spectrum'`` with an ``(H, W, C)`` cube when ``Data/Spectrum`` exists (format
        7.0+), otherwise ``kind='maps'`` with the ``(H, W, F)`` maps of the first element-map
        group found (``Window Integral``, then ``Peak Area``, ``Composition``, ...), their
        dataset names in ``feature_names``. Energy axis in keV (the file stores eV),
        ``nav_scale`` ``(y, x)`` in µm from *Y Step*, *X Step*; ``nav_images`` holds the
        BSE then SE (then FSE) electron images resampled onto the EDS grid.

    Raises
    ------
    SigmaFileError
        Missing, non-HDF5 or truncated file; a mandatory group or dataset is missing.
    SigmaValueError
        Unknown ``site`` or ``detector`` (the message lists those in the file).

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from sigma.io.h5oina import write_h5oina
    >>> cube = np.arange(3 * 4 * 8, dtype=np.int32).reshape(3, 4, 8)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_h5oina(Path(tmp) / "map.h5oina", cube, energy_scale=0.01,
    ...                      energy_offset=-0.2, nav_scale=(0.5, 0.25))
    ...     raw = read_h5oina(p)
    >>> raw.kind, raw.shape, raw.data.dtype
    ('spectrum', (3, 4, 8), dtype('int32'))
    >>> bool((raw.data == cube).all()), raw.nav_scale, raw.nav_units
    (True, (0.5, 0.25), 'µm')
    >>> round(raw.energy_scale, 6), round(raw.energy_offset, 6)
    (0.01, -0.2)
    """
    if out_of_scan not in ("nan", "zero"):
        raise bad_value("out_of_scan", out_of_scan, "'nan' or 'zero'")
    dask_chunks = _dask_chunks(chunks) if lazy else None
    path = _check_path(path)
    with _open(path) as f:
        site_name = _resolve_site(f, path, site)
        det = _resolve_detector(f, path, site_name, detector)
        tech = f"/{site_name}/{det}"
        data_grp = _require_group(f, f"{tech}/Data", path)
        header = _require_group(f, f"{tech}/Header", path)
        W = int(_required_scalar(header, "X Cells", path))
        H = int(_required_scalar(header, "Y Cells", path))
        x_step = float(_required_scalar(header, "X Step", path))
        y_step = float(_required_scalar(header, "Y Step", path))
        if H == 1 and y_step == 0:  # Spec: Common Header, line scan: Y Step always 0
            y_step = x_step
        n = H * W
        hdr = _header_dict(header)
        beam = _scalar(header, "Beam Voltage")
        if beam is None:
            beam = _scalar(f.get(f"/{site_name}/Electron Image/Header"), "Beam Voltage")

        live = data_grp.get("Live Time")
        live_time = None
        if live is not None:
            live_time = np.asarray(live[()], dtype=np.float32).reshape(-1)
            if live_time.size != n:
                raise bad_file(
                    path,
                    f"has '{live.name}' of {live_time.size} values",
                    f"X Cells * Y Cells = {n} values (one per pixel)",
                )
            live_time = live_time.reshape(H, W)
        maps_group, map_names = _map_datasets(data_grp)
        if live_time is not None:
            valid = np.isfinite(live_time)
        elif maps_group is not None:
            first = np.asarray(data_grp[maps_group][map_names[0]][()], np.float32).reshape(-1)
            valid = np.isfinite(first).reshape(H, W) if first.size == n else np.ones((H, W), bool)
        else:
            valid = np.ones((H, W), bool)
        elements, xray_lines = _elements_and_lines(data_grp)
        images, image_sources = _read_images(f, site_name, (H, W), header, path)

        metadata: dict[str, Any] = {
            "format": "h5oina",
            "format_version": _scalar(f, "Format Version"),
            "site": site_name,
            "detector": det,
            "sites": _sites(f, path),
            "detectors": _detectors(f[site_name]),
            "valid_mask": valid,
            "live_time": live_time,
            "header": hdr,
            "nav_image_sources": image_sources,
            "strobe_fwhm_ev": hdr.get("Strobe FWHM"),
        }
        common = dict(
            path=path,
            nav_scale=(y_step, x_step),
            nav_units=_UM,
            nav_images=images,
            signal_type="EDS_SEM",
            beam_energy=None if beam is None else float(beam),
            elements=elements,
            xray_lines=xray_lines,
        )

        spec_ds = data_grp.get("Spectrum")
        if spec_ds is not None:
            if spec_ds.ndim != 2 or spec_ds.shape[0] != n:
                raise bad_file(
                    path,
                    f"has '{spec_ds.name}' of shape {spec_ds.shape}",
                    f"(X Cells * Y Cells, channels) = ({n}, channels) (Spec: EDS > Data Group)",
                )
            C = int(spec_ds.shape[1])
            scale = float(_required_scalar(header, "Channel Width", path)) / 1000.0
            offset = float(_required_scalar(header, "Start Channel", path)) / 1000.0
            rows = HDF5Rows(path, spec_ds.name, (H, W, C), spec_ds.dtype, flat_pixels=True)
            metadata["spectrum_dataset"] = spec_ds.name
        else:
            rows = None
    # the file is closed here; lazy reads reopen it per chunk
    if rows is not None:
        if lazy:
            data = rows.as_dask(dask_chunks)
        else:
            data = rows[:, :, :]
        data = _apply_scan_mask(data, valid, out_of_scan)
        logger.info(
            "Read %s %s%s cube %s from %s",
            site_name,
            det,
            " lazy" if lazy else "",
            data.shape,
            path,
        )
        return RawData(
            data=data,
            kind="spectrum",
            energy_scale=scale,
            energy_offset=offset,
            metadata=metadata,
            valid=None if valid.all() else valid,
            **common,
        )
    if maps_group is None:
        raise bad_file(
            path,
            f"has neither '{tech}/Data/Spectrum' nor element maps under '{tech}/Data/"
            f"Window Integral' (or {', '.join(_MAP_GROUPS[1:])})",
            "an EDS map as defined in " + SPEC,
        )
    with _open(path) as f:
        grp = f[f"{tech}/Data/{maps_group}"]
        stack = []
        for name in map_names:
            m = np.asarray(grp[name][()], dtype=np.float32).reshape(-1)
            if m.size != n:
                raise bad_file(
                    path,
                    f"has '{grp[name].name}' of {m.size} values",
                    f"X Cells * Y Cells = {n} values",
                )
            stack.append(m.reshape(H, W))
    data = np.stack(stack, axis=-1)
    data[~valid] = np.nan
    metadata["maps_group"] = maps_group
    if lazy:
        import dask.array as da

        data = da.from_array(data, chunks=(dask_chunks[0], dask_chunks[1], -1))
    return RawData(
        data=data, kind="maps", feature_names=list(map_names), metadata=metadata, **common
    )


def _apply_scan_mask(data, valid: np.ndarray, out_of_scan: str):
    """NaN (float32) or 0 on every channel of the pixels outside the scanned area."""
    if valid.all():
        return data
    if isinstance(data, np.ndarray):
        if out_of_scan == "nan":
            data = data.astype(np.float32)
            data[~valid] = np.nan
        else:
            data = np.where(valid[..., None], data, 0).astype(data.dtype, copy=False)
        return data
    import dask.array as da

    mask = da.from_array(valid, chunks=data.chunks[:2])[..., None]
    if out_of_scan == "nan":
        return da.where(mask, data.astype(np.float32), np.float32(np.nan))
    return da.where(mask, data, 0).astype(data.dtype)
