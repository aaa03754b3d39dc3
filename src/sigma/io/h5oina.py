"""Oxford Instruments AZtec ``.h5oina`` files (HDF5): reader, table of contents and writer.

Everything here follows the published *Oxford Instruments NanoAnalysis HDF5 File Specification*
(``H5OINAFile.md`` in https://github.com/oinanoanalysis/h5oina, format versions 1.0-8.0).
Section names of that document are quoted in the docstrings as *"Spec: <section>"*.

Layout read and written (Spec: Root Level, Slice, Technique, Common Header, EDS,
Electron Image)::

    /Format Version                      string, mandatory
    /Index                               string (n slices, 1), attribute Type = Single | Feature
    /<slice>/                            "1", "2", ... (called *site* in SIGMA2's API)
        EDS | EDS1, EDS2, ...            one technique group per EDS detector (Unity: EDS1, EDS2)
            Header/X Cells, Y Cells      int32, map width and height in pixels
            Header/X Step, Y Step        float32, step in micrometres
            Header/Channel Width         float32, eV per channel
            Header/Start Channel         float32, eV at channel 0
            Header/Beam Voltage          float32, kV
            Data/Spectrum                int32 (X Cells * Y Cells, channels), LZF (new in 7.0)
            Data/Live Time               float32 (size, 1), s; NaN outside the scanned area
            Data/Window Integral/<El Ln> float32 (size, 1), counts per second
        Electron Image/
            Header/X Cells, Y Cells ...  size of the electron images
            Data/BSE/<any name>          (width * height, 1) image
            Data/SE/<any name>

Pixel order: the first axis of every Data dataset enumerates the pixels of the map row by row
(x fastest), so ``Spectrum.reshape(Y Cells, X Cells, channels)`` is the ``(H, W, C)`` cube with
axis 0 = y (rows) and axis 1 = x (columns).

Out-of-scan pixels
------------------
The specification (Spec: General Notes; Definition of Bounding Box) sets the value of every
pixel outside the acquisition area to ``NaN`` in the Data datasets. ``Spectrum`` is int32 and
cannot hold NaN, so the reader finds the scanned area from the float datasets: a pixel is
*valid* when its ``Live Time`` is finite (or, without ``Live Time``, when its first element map
is finite). :func:`read_h5oina` then always stores ``metadata['valid_mask']`` (``(H, W)`` bool,
True = scanned) and, by default (``out_of_scan='nan'``), returns a **float32** cube with NaN on
every channel of the pixels outside the scan. If every pixel was scanned the cube keeps the
int32 dtype of the file. ``out_of_scan='zero'`` keeps the integer dtype and puts 0 counts there.
Element maps (``kind='maps'``) are float and keep the NaN of the file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._errors import SigmaError, bad_file, bad_value
from .._resample import resample
from ._lazy import HDF5Rows
from ._types import RawData

__all__ = ["list_h5oina_contents", "read_h5oina", "write_h5oina"]

logger = logging.getLogger(__name__)

SPEC = "the H5OINA specification (github.com/oinanoanalysis/h5oina, H5OINAFile.md)"
_EDS_RE = re.compile(r"^EDS(\d*)$")
_IMAGE_KINDS = ("BSE", "SE", "FSE")
# Spec: EDS > Data Group Specification, in the order the table lists them.
_MAP_GROUPS = (
    "Window Integral",
    "Peak Area",
    "Composition",
    "Composition Sigma",
    "Apparent Concentration",
    "K Ratio",
)
_SYMBOLS = (
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As "
    "Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu "
    "Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np "
    "Pu Am Cm Bk Cf Es Fm Md No Lr"
).split()
_UM = "µm"


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------
def _decode(value: Any) -> Any:
    """Turn an HDF5 value (bytes, 0-d/1-element array) into a plain Python scalar."""
    if isinstance(value, np.ndarray):
        if value.size == 1:
            value = value.reshape(-1)[0]
        else:
            return [_decode(v) for v in value.reshape(-1)]
    if isinstance(value, bytes | np.bytes_):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _scalar(group, name: str, default: Any = None) -> Any:
    """Read a (1, 1) header dataset (any shape with one element is accepted)."""
    obj = group.get(name) if group is not None else None
    if obj is None or not hasattr(obj, "shape"):
        return default
    return _decode(obj[()])


def _required_scalar(group, name: str, path: Path) -> Any:
    value = _scalar(group, name)
    if value is None:
        raise bad_file(
            path,
            f"has no dataset '{group.name}/{name}'",
            f"a mandatory header dataset as defined in {SPEC}",
        )
    return value


def _require_group(f, name: str, path: Path):
    import h5py

    obj = f.get(name)
    if not isinstance(obj, h5py.Group):
        raise bad_file(path, f"has no group '{name}'", f"that group as defined in {SPEC}")
    return obj


def _check_path(path) -> Path:
    import h5py

    p = Path(path)
    if not p.exists():
        raise bad_file(p, "does not exist", "an existing .h5oina file")
    if not p.is_file():
        raise bad_file(p, "is not a regular file", "an .h5oina file")
    if not h5py.is_hdf5(p):
        raise bad_file(p, "is not an HDF5 file", "an Oxford Instruments .h5oina file (HDF5)")
    return p


@contextlib.contextmanager
def _open(path: Path) -> Iterator[Any]:
    """Open read-only, turning HDF5 errors (truncated, corrupt) into a file error."""
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise bad_file(
            path,
            f"could not be opened as HDF5, it may be truncated or corrupt ({exc})",
            "a complete .h5oina file",
        ) from exc
    try:
        yield f
    except SigmaError:
        raise
    except (OSError, KeyError) as exc:
        raise bad_file(
            path,
            f"could not be read, it may be truncated or corrupt ({exc})",
            "a complete .h5oina file",
        ) from exc
    finally:
        f.close()


def _natural_key(name: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def _sites(f, path: Path) -> list[str]:
    """Slice group names (Spec: Root Level ``Index``, Slice Group Specification)."""
    import h5py

    names: list[str] = []
    if "Index" in f and isinstance(f["Index"], h5py.Dataset):
        listed = _decode(f["Index"][()])
        listed = listed if isinstance(listed, list) else [listed]
        names = [str(n) for n in listed if isinstance(f.get(str(n)), h5py.Group)]
    if not names:
        names = sorted(
            (k for k, v in f.items() if isinstance(v, h5py.Group) and k.isdigit()),
            key=_natural_key,
        )
    if not names:
        raise bad_file(
            path,
            "has no slice group (such as '/1') at its root",
            f"an .h5oina file laid out as in {SPEC}, section 'Slice Group Specification'",
        )
    return names


def _detectors(site_group) -> list[str]:
    """EDS technique groups: ``EDS`` or ``EDS1``, ``EDS2``... (Spec: Slice, version 6.0)."""
    return sorted((k for k in site_group if _EDS_RE.match(k)), key=_natural_key)


def _resolve_site(f, path: Path, site) -> str:
    available = _sites(f, path)
    if site is None:
        return available[0]
    key = str(site)
    if key not in available:
        raise bad_value("site", site, f"one of the slices {available} stored in file '{path}'")
    return key


def _resolve_detector(f, path: Path, site: str, detector) -> str:
    available = _detectors(f[site])
    if not available:
        raise bad_file(
            path,
            f"has no group '/{site}/EDS' (nor '/{site}/EDS1', '/{site}/EDS2', ...)",
            f"an EDS technique group as defined in {SPEC}, section 'EDS Technique'",
        )
    if detector is None:
        return available[0]
    if str(detector) not in available:
        raise bad_value(
            "detector",
            detector,
            f"one of the EDS detectors {available} of site '{site}' in file '{path}'",
        )
    return str(detector)


def _header_dict(header) -> dict[str, Any]:
    """Small header datasets as a flat, JSON-friendly dict."""
    import h5py

    out: dict[str, Any] = {}
    if header is None:
        return out
    for name, obj in header.items():
        if isinstance(obj, h5py.Dataset) and obj.size <= 4:
            out[name] = _decode(obj[()])
    return out


def _hyperspy_line(symbol: str, line: str) -> str:
    """``('Fe', 'Ka1')`` → ``'Fe_Ka'``; ``('Al', 'K series')`` → ``'Al_Ka'``."""
    line = line.strip()
    m = re.match(r"^([KLMN])\s*series$", line, flags=re.IGNORECASE)
    if m:
        return f"{symbol}_{m.group(1).upper()}a"
    return f"{symbol}_{re.sub(r'[0-9,]+$', '', line.replace(' ', ''))}"


def _map_datasets(data_group) -> tuple[str | None, list[str]]:
    """First non-empty element-map group of an EDS Data group and its dataset names."""
    import h5py

    for gname in _MAP_GROUPS:
        g = data_group.get(gname)
        if isinstance(g, h5py.Group):
            names = [k for k, v in g.items() if isinstance(v, h5py.Dataset)]
            if names:
                return gname, names
    return None, []


def _elements_and_lines(data_group) -> tuple[list[str], list[str]]:
    """Elements and HyperSpy line names from the map attributes (Spec: EDS > Data Group)."""
    import h5py

    elements: list[str] = []
    lines: list[str] = []
    for gname in _MAP_GROUPS:
        g = data_group.get(gname)
        if not isinstance(g, h5py.Group):
            continue
        for name, ds in g.items():
            if not isinstance(ds, h5py.Dataset):
                continue
            z = _decode(ds.attrs.get("Atomic Number"))
            symbol = (
                _SYMBOLS[int(z) - 1]
                if isinstance(z, int | float) and 1 <= z <= len(_SYMBOLS)
                else name.split()[0]
            )
            if symbol not in elements:
                elements.append(symbol)
            xline = _decode(ds.attrs.get("X-ray Line"))
            if isinstance(xline, str) and xline:
                hl = _hyperspy_line(symbol, xline)
                if hl not in lines:
                    lines.append(hl)
    return elements, lines


# --------------------------------------------------------------------------------------------
# images
# --------------------------------------------------------------------------------------------
def _place_on_grid(
    img: np.ndarray, grid: tuple[int, int], rel_offset, rel_size
) -> tuple[np.ndarray, bool]:
    """Crop the EDS bounding box out of an electron image and resample it onto the EDS grid.

    Spec: Common Header, *Relative Offset* (top-left corner, x and y normalised by the image
    width and height) and *Relative Size* (width, height normalised likewise).
    """
    if img.shape == grid:
        return img.astype(np.float32), False
    h, w = img.shape
    if rel_offset is not None and rel_size is not None:
        ox, oy = (float(v) for v in np.ravel(rel_offset)[:2])
        sw, sh = (float(v) for v in np.ravel(rel_size)[:2])
        x0, x1 = int(round(ox * w)), int(round((ox + sw) * w))
        y0, y1 = int(round(oy * h)), int(round((oy + sh) * h))
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(w, max(x1, x0 + 1)), min(h, max(y1, y0 + 1))
        if (x1 - x0, y1 - y0) != (w, h):
            img = img[y0:y1, x0:x1]
    return resample(img, grid, mode="area"), True


def _read_images(f, site: str, grid: tuple[int, int], eds_header, path: Path):
    """BSE, SE and FSE images of a slice on the EDS grid (Spec: Electron Image Technique)."""
    import h5py

    images: dict[str, np.ndarray] = {}
    sources: dict[str, str] = {}
    ei = f.get(f"/{site}/Electron Image")
    if not isinstance(ei, h5py.Group) or not isinstance(ei.get("Data"), h5py.Group):
        return images, sources
    header = ei.get("Header")
    wi, hi = _scalar(header, "X Cells"), _scalar(header, "Y Cells")
    rel_offset = _scalar(eds_header, "Relative Offset")
    rel_size = _scalar(eds_header, "Relative Size")
    for kind in _IMAGE_KINDS:
        g = ei["Data"].get(kind)
        if not isinstance(g, h5py.Group):
            continue
        names = [k for k, v in g.items() if isinstance(v, h5py.Dataset)]
        if not names:
            continue
        ds = g[names[0]]
        arr = np.asarray(ds[()])
        if arr.ndim == 2 and arr.shape[1] > 1:
            img = arr  # already (height, width)
        elif wi is not None and hi is not None and arr.size == int(wi) * int(hi):
            img = arr.reshape(int(hi), int(wi))
        elif arr.size == grid[0] * grid[1]:
            img = arr.reshape(grid)
        else:
            raise bad_file(
                path,
                f"has an electron image '{ds.name}' of {arr.size} pixels without a usable "
                f"'/{site}/Electron Image/Header/X Cells' and 'Y Cells'",
                "the image size in the Electron Image header",
            )
        img, resized = _place_on_grid(img, grid, rel_offset, rel_size)
        if resized:
            logger.info("Resampled %s image %s onto the EDS grid %s", kind, ds.name, grid)
        images[kind] = img
        sources[kind] = ds.name
    return images, sources


# --------------------------------------------------------------------------------------------
# lazy spectrum access
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------
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
            import dask.array as da

            data = da.from_array(
                rows, chunks=dask_chunks, meta=np.empty((0, 0, 0), rows.dtype), asarray=False
            )
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


def list_h5oina_contents(path: str | os.PathLike) -> dict[str, Any]:
    """Table of contents of an ``.h5oina`` file, for ``sigma info``; reads no pixel data.

    Returns
    -------
    dict
        ``path``, ``format_version``, ``sites`` (slice names), ``detectors``, ``images`` and
        ``has_cube`` of the first site (what :func:`read_h5oina` reads by default), and
        ``per_site``: ``{site: {'detectors': {det: {'shape': (H, W), 'channels': C or None,
        'has_cube': bool, 'maps': {group: [names]}}}, 'images': [...]}}``.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_h5oina(Path(tmp) / "m.h5oina", np.ones((2, 3, 5), np.int32),
    ...                      energy_scale=0.01, energy_offset=0.0,
    ...                      bse_image=np.zeros((2, 3), np.uint8))
    ...     toc = list_h5oina_contents(p)
    >>> toc["sites"], toc["detectors"], toc["images"], toc["has_cube"]
    (['1'], ['EDS'], ['BSE'], True)
    >>> toc["per_site"]["1"]["detectors"]["EDS"]["shape"]
    (2, 3)
    """
    import h5py

    path = _check_path(path)
    with _open(path) as f:
        sites = _sites(f, path)
        per_site: dict[str, Any] = {}
        for s in sites:
            dets = {}
            for d in _detectors(f[s]):
                hdr = f.get(f"/{s}/{d}/Header")
                data = f.get(f"/{s}/{d}/Data")
                spec = data.get("Spectrum") if isinstance(data, h5py.Group) else None
                maps = {}
                if isinstance(data, h5py.Group):
                    for g in _MAP_GROUPS:
                        if isinstance(data.get(g), h5py.Group) and len(data[g]):
                            maps[g] = list(data[g].keys())
                w, h = _scalar(hdr, "X Cells"), _scalar(hdr, "Y Cells")
                dets[d] = {
                    "shape": None if w is None or h is None else (int(h), int(w)),
                    "channels": None if spec is None else int(spec.shape[-1]),
                    "has_cube": spec is not None,
                    "maps": maps,
                }
            ei = f.get(f"/{s}/Electron Image/Data")
            images = [
                k
                for k in _IMAGE_KINDS
                if isinstance(ei, h5py.Group) and isinstance(ei.get(k), h5py.Group) and len(ei[k])
            ]
            per_site[s] = {"detectors": dets, "images": images}
        first = per_site[sites[0]]
        return {
            "path": str(path),
            "format_version": _scalar(f, "Format Version"),
            "sites": sites,
            "detectors": list(first["detectors"]),
            "images": first["images"],
            "has_cube": any(d["has_cube"] for d in first["detectors"].values()),
            "per_site": per_site,
        }


# --------------------------------------------------------------------------------------------
# writer
# --------------------------------------------------------------------------------------------
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
        from ..xray import default_lines_for_elements, fwhm, line_energy

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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
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
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
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
