"""Writing ``.h5oina`` files that follow the specification (test data, conversions)."""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..._errors import bad_file, bad_value
from ..._files import atomic_path
from ._spec import _EDS_RE, _SYMBOLS, _UM, _check_path, _hyperspy_line, _natural_key, _sites

logger = logging.getLogger("sigma.io.h5oina")


def _str_ds(group, name: str, values: Sequence[str] | str):
    import h5py

    vals = [values] if isinstance(values, str) else list(values)
    arr = np.array(vals, dtype=object).reshape(len(vals), 1)
    return group.create_dataset(name, data=arr, dtype=h5py.string_dtype("utf-8"))


def _num_ds(group, name: str, value, dtype, unit: str | None = None):
    ds = group.create_dataset(name, data=np.asarray(value, dtype=dtype).reshape(1, -1))
    if unit:
        ds.attrs["Unit"] = unit
    return ds


def _column_ds(group, name: str, values: np.ndarray, dtype, unit: str | None, compression):
    ds = group.create_dataset(
        name, data=np.asarray(values, dtype=dtype).reshape(-1, 1), compression=compression
    )
    if unit:
        ds.attrs["Unit"] = unit
    return ds


def _write_common_header(hdr, *, W, H, x_step, y_step, beam_energy, label):
    """Spec: Common Header Group Specification (mandatory entries and a few optional ones)."""
    _str_ds(hdr, "Project Label", "SIGMA2")
    _str_ds(hdr, "Analysis Label", label)
    _num_ds(hdr, "X Cells", W, np.int32)
    _num_ds(hdr, "Y Cells", H, np.int32)
    _num_ds(hdr, "X Step", x_step, np.float32, _UM)
    _num_ds(hdr, "Y Step", y_step, np.float32, _UM)
    if beam_energy is not None:
        _num_ds(hdr, "Beam Voltage", beam_energy, np.float32, "kV")


def _parse_map_name(name: str) -> tuple[str, str]:
    """``'Fe Ka1'``, ``'Fe_Ka'`` → ``('Fe', 'Ka1' / 'Ka')``."""
    parts = re.split(r"[\s_]+", name.strip(), maxsplit=1)
    if len(parts) != 2 or parts[0] not in _SYMBOLS:
        raise bad_value(
            "window_integrals",
            name,
            "keys naming an element and an X-ray line, such as 'Fe Ka1' or 'Fe_Ka'",
        )
    return parts[0], parts[1]


def _as_image(img, name: str) -> np.ndarray:
    arr = np.asarray(img)
    if arr.ndim != 2 or min(arr.shape) < 1:
        raise bad_value(name, getattr(arr, "shape", arr), "a 2-D (height, width) image")
    if arr.dtype.kind not in "uif" and arr.dtype != bool:
        raise bad_value(name, arr.dtype, "a numeric image")
    return arr.astype(np.uint8) if arr.dtype == bool else arr


def _version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in str(version).split("."))
    except ValueError:
        raise bad_value("version", version, "a format version string such as '7.0'") from None


def write_h5oina(
    path: str | os.PathLike,
    cube: np.ndarray | None = None,
    *,
    energy_scale: float = 0.01,
    energy_offset: float = 0.0,
    nav_scale: tuple[float, float] = (1.0, 1.0),
    beam_energy: float | None = 20.0,
    elements: Sequence[str] = (),
    se_image: np.ndarray | None = None,
    bse_image: np.ndarray | None = None,
    window_integrals: Mapping[str, np.ndarray] | None = None,
    live_time: float | np.ndarray = 1.0,
    site: str | int = "1",
    detector: str = "EDS",
    version: str = "7.0",
    scan_mask: np.ndarray | None = None,
    compression: str | None = "lzf",
    append: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write an EDS map in the published ``.h5oina`` layout (for phantoms and tests).

    Parameters
    ----------
    path
        Output file. Written atomically (a temporary file in the same folder, then
        ``os.replace``).
    cube
        ``(H, W, C)`` non-negative integer counts, stored as ``Data/Spectrum`` int32 of shape
        ``(H * W, C)``, pixels row by row (Spec: EDS > Data Group, new in 7.0). ``None``
        writes an element-maps-only file (``window_integrals`` or ``elements`` then needed).
    energy_scale, energy_offset
        keV per channel and keV at channel 0; stored in eV as *Channel Width* and *Start
        Channel* (Spec: EDS > Header Group).
    nav_scale
        ``(y, x)`` step in µm, stored as *Y Step*, *X Step*.
    beam_energy
        kV, stored as *Beam Voltage*.
    elements
        Symbols (``'Fe'``) or lines (``'Fe_Ka'``) whose *Window Integral* maps are computed
        from ``cube`` (counts over ±1 FWHM around the line, divided by the live time, in
        counts per second) unless ``window_integrals`` already has them.
    se_image, bse_image
        Electron images of any size, written under ``Electron Image/Data/SE`` and ``BSE``.
    window_integrals
        ``{'Fe Ka1': (H, W) map in counts per second, ...}``.
    live_time
        Seconds per pixel (scalar or ``(H, W)``), the mandatory *Live Time* dataset.
    site, detector
        Slice group (``'1'``, ``'2'``...) and EDS group (``'EDS'``, ``'EDS1'``, ``'EDS2'``...).
    version
        *Format Version*; a spectrum cube needs ``'7.0'`` or later.
    scan_mask
        ``(H, W)`` bool, True where the beam scanned. Outside it every float Data dataset is NaN
        (Spec: General Notes) and the int32 spectrum has 0 counts.
    compression
        HDF5 filter for the Spectrum, ``'lzf'`` as the specification says, or ``'gzip'``/None.
    append
        Add the slice/detector to an existing file instead of creating one.
    overwrite
        Replace an existing file (without it, an existing ``path`` is an error).

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> import tempfile, h5py, numpy as np
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_h5oina(Path(tmp) / "a.h5oina", np.ones((2, 3, 4), np.int32))
    ...     with h5py.File(p) as f:
    ...         print(f["1/EDS/Data/Spectrum"].shape, f["1/EDS/Data/Spectrum"].dtype,
    ...               f["1/EDS/Header/Channel Width"][0, 0])
    (6, 4) int32 10.0
    """
    import h5py

    path = Path(path)
    site = str(site)
    if not site.isdigit():
        raise bad_value("site", site, "a slice name made of digits, such as '1'")
    if not _EDS_RE.match(str(detector)):
        raise bad_value("detector", detector, "'EDS' or 'EDS1', 'EDS2', ...")
    if compression not in ("lzf", "gzip", None):
        raise bad_value("compression", compression, "'lzf', 'gzip' or None")
    if not (np.isfinite(energy_scale) and energy_scale > 0):
        raise bad_value("energy_scale", energy_scale, "a positive number of keV per channel")
    if not np.isfinite(energy_offset):
        raise bad_value("energy_offset", energy_offset, "a finite energy in keV")
    if len(tuple(nav_scale)) != 2 or not all(np.isfinite(s) and s > 0 for s in nav_scale):
        raise bad_value("nav_scale", nav_scale, "a (y, x) pair of positive steps in µm")
    window_integrals = dict(window_integrals or {})
    if cube is not None:
        cube = np.asarray(cube)
        if cube.ndim != 3 or min(cube.shape) < 1:
            raise bad_value("cube", cube.shape, "a non-empty (H, W, C) array")
        if cube.dtype.kind == "f":
            if not np.all(np.isfinite(cube)) or np.any(cube != np.round(cube)):
                raise bad_value("cube", cube.dtype, "integer counts (the file stores int32)")
        elif cube.dtype.kind not in "ui":
            raise bad_value("cube", cube.dtype, "integer counts (the file stores int32)")
        if cube.size and (cube.min() < 0 or cube.max() > np.iinfo(np.int32).max):
            raise bad_value(
                "cube", (int(cube.min()), int(cube.max())), "counts between 0 and 2**31 - 1 (int32)"
            )
        if _version_tuple(version) < (7,):
            raise bad_value(
                "version",
                version,
                "'7.0' or later when a spectrum cube is written "
                "(Data/Spectrum is new in H5OINA 7.0)",
            )
        H, W, C = cube.shape
    elif window_integrals:
        H, W = np.shape(next(iter(window_integrals.values())))
        C = 0
    else:
        raise bad_value("cube", None, "an (H, W, C) array, or window_integrals for a maps file")
    _version_tuple(version)
    mask = np.ones((H, W), bool) if scan_mask is None else np.asarray(scan_mask, bool)
    if mask.shape != (H, W):
        raise bad_value("scan_mask", mask.shape, f"an (H, W) = {(H, W)} boolean array")
    lt = np.broadcast_to(np.asarray(live_time, np.float32), (H, W)).astype(np.float32)
    if not np.all(lt[mask] > 0):
        raise bad_value("live_time", live_time, "positive seconds per pixel")

    if elements:
        if cube is None:
            raise bad_value(
                "elements",
                tuple(elements),
                "empty when no cube is given (pass window_integrals instead)",
            )
        from ...xray import default_lines_for_elements, fwhm, line_energy

        names = {_hyperspy_line(*_parse_map_name(k)) for k in window_integrals}
        energy = energy_offset + energy_scale * (np.arange(C) + 0.5)
        for el in elements:
            line = (
                el
                if "_" in el
                else (default_lines_for_elements([el], beam_energy=beam_energy) or [None])[0]
            )
            if line is None:
                raise bad_value("elements", el, "an element with a line below the beam energy")
            if line in names:
                continue
            e = line_energy(line)
            width = float(fwhm(e))
            sel = np.abs(energy - e) <= width
            counts = cube[..., sel].sum(axis=-1, dtype=np.float64)
            symbol, ln = line.split("_")
            window_integrals[
                f"{symbol} {ln}1" if ln in ("Ka", "La", "Ma") else f"{symbol} {ln}"
            ] = counts / lt
    for k, m in window_integrals.items():
        if np.shape(m) != (H, W):
            raise bad_value(f"window_integrals[{k!r}]", np.shape(m), f"an (H, W) = {(H, W)} map")

    if path.exists() and not (overwrite or append):
        raise bad_file(path, "already exists", "a new path, or overwrite=True to replace it")
    if append and not path.exists():
        raise bad_file(path, "does not exist", "an existing .h5oina file to append to")
    with atomic_path(path) as tmp:
        if append:
            _check_path(path)
            shutil.copyfile(path, tmp)
        with h5py.File(tmp, "r+" if append else "w") as f:
            _write_slice(
                f,
                path,
                site=site,
                detector=str(detector),
                version=str(version),
                cube=cube,
                H=H,
                W=W,
                energy_scale=energy_scale,
                energy_offset=energy_offset,
                nav_scale=nav_scale,
                beam_energy=beam_energy,
                se_image=se_image,
                bse_image=bse_image,
                window_integrals=window_integrals,
                live_time=lt,
                mask=mask,
                compression=compression,
                append=append,
            )
    logger.info(
        "Wrote %s (site %s, %s, %s)", path, site, detector, "cube" if cube is not None else "maps"
    )
    return path


def _write_slice(
    f,
    path,
    *,
    site,
    detector,
    version,
    cube,
    H,
    W,
    energy_scale,
    energy_offset,
    nav_scale,
    beam_energy,
    se_image,
    bse_image,
    window_integrals,
    live_time,
    mask,
    compression,
    append,
):
    import h5py

    # Spec: Root Level Specification
    if not append:
        _str_ds(f, "Manufacturer", "SIGMA2")
        _str_ds(f, "Software Version", "SIGMA2 synthetic h5oina writer")
        _str_ds(f, "Format Version", version)
        index: list[str] = []
    else:
        index = _sites(f, path) if any(k.isdigit() for k in f) else []
        if f"/{site}/{detector}" in f:
            raise bad_value(
                "detector", detector, f"a technique group not yet in site '{site}' of file '{path}'"
            )
    if site not in index:
        index = sorted([*index, site], key=_natural_key)
    if "Index" in f:
        del f["Index"]
    idx = _str_ds(f, "Index", index)
    idx.attrs["Type"] = "Single" if len(index) == 1 else "Feature"

    s = f.require_group(site)
    y_step, x_step = (float(v) for v in nav_scale)
    tech = s.create_group(detector)
    hdr, data = tech.create_group("Header"), tech.create_group("Data")
    # Spec: Common Header + EDS > Header Group Specification
    _write_common_header(
        hdr,
        W=W,
        H=H,
        x_step=x_step,
        y_step=y_step,
        beam_energy=beam_energy,
        label=f"Map Data {site}",
    )
    _num_ds(hdr, "Channel Width", energy_scale * 1000.0, np.float32, "eV")
    _num_ds(hdr, "Start Channel", energy_offset * 1000.0, np.float32, "eV")
    if _version_tuple(version) >= (3,):
        _num_ds(hdr, "Bounding Box Size", [W * x_step, H * y_step], np.float32, _UM)
        _num_ds(hdr, "Relative Offset", [0.0, 0.0], np.float32)
        _num_ds(hdr, "Relative Size", [1.0, 1.0], np.float32)
    # Spec: EDS > Data Group Specification
    outside = ~mask.reshape(-1)
    yy, xx = np.mgrid[0:H, 0:W]
    for name, pos in (("X", xx * x_step), ("Y", yy * y_step)):
        col = pos.reshape(-1).astype(np.float32)
        col[outside] = np.nan
        _column_ds(data, name, col, np.float32, _UM, None)
    lt = live_time.reshape(-1).copy()
    lt[outside] = np.nan
    _column_ds(data, "Live Time", lt, np.float32, "s", None)
    _column_ds(data, "Real Time", lt, np.float32, "s", None)
    if cube is not None:
        C = cube.shape[-1]
        _num_ds(hdr, "Number Channels", C, np.int32)
        _num_ds(hdr, "Energy Range", energy_offset + C * energy_scale, np.float32, "keV")
        flat = cube.reshape(H * W, C).astype(np.int32)
        flat[outside] = 0
        rows = int(max(1, min(H * W, (1 << 20) // (4 * C))))
        data.create_dataset("Spectrum", data=flat, chunks=(rows, C), compression=compression)
    if window_integrals:
        wi = data.create_group("Window Integral")
        for name, m in window_integrals.items():
            symbol, line = _parse_map_name(name)
            col = np.asarray(m, np.float32).reshape(-1).copy()
            col[outside] = np.nan
            ds = _column_ds(wi, f"{symbol} {line}", col, np.float32, "counts per second", None)
            finite = col[np.isfinite(col)]
            ds.attrs["Atomic Number"] = np.array([[_SYMBOLS.index(symbol) + 1]], np.int32)
            ds.attrs["X-ray Line"] = np.array([[line]], dtype=h5py.string_dtype("utf-8"))
            ds.attrs["Lower Value"] = np.array([[finite.min() if finite.size else 0]], np.float32)
            ds.attrs["Upper Value"] = np.array([[finite.max() if finite.size else 0]], np.float32)
            ds.attrs["Lower Color"] = np.zeros((1, 3), np.uint8)
            ds.attrs["Upper Color"] = np.full((1, 3), 255, np.uint8)
            ds.attrs["Gamma"] = np.array([[1.0]], np.float32)

    # Spec: Electron Image Technique (new in 2.0)
    images = {
        k: _as_image(v, f"{k.lower()}_image")
        for k, v in (("BSE", bse_image), ("SE", se_image))
        if v is not None
    }
    if images:
        if "Electron Image" in s:
            raise bad_value(
                "se_image/bse_image",
                sorted(images),
                f"None: site '{site}' of file '{path}' already has electron images",
            )
        shapes = {v.shape for v in images.values()}
        if len(shapes) != 1:
            raise bad_value(
                "se_image/bse_image",
                sorted(shapes),
                "images of one size (Spec: all images in the Data group have the same dimensions)",
            )
        ((hi, wi_),) = shapes
        ei = s.create_group("Electron Image")
        eh, ed = ei.create_group("Header"), ei.create_group("Data")
        _write_common_header(
            eh,
            W=wi_,
            H=hi,
            x_step=x_step * W / wi_,
            y_step=y_step * H / hi,
            beam_energy=beam_energy,
            label="Electron Image 1",
        )
        for kind, img in images.items():
            g = ed.create_group(kind)
            g.create_dataset("Electron Image 1", data=img.reshape(-1, 1))
