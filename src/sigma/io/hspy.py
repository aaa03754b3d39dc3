"""HyperSpy ``.hspy`` (HDF5) and ``.zspy`` (Zarr) files through RosettaSciIO.

RosettaSciIO reads the signals and their metadata. A lazy ``.hspy`` cube is then rebuilt over
the signal's own HDF5 dataset with :class:`~sigma.io._lazy.HDF5Rows`, because RosettaSciIO's
lazy array holds the open ``h5py`` file, which cannot be sent to dask.distributed workers.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from .._errors import SigmaFileError, bad_file
from .._progress import compute
from . import _common
from ._common import (
    fit_image_to_grid,
    from_rsciio_spectrum,
    get,
    nav_chunks,
    rechunk_nav,
    wrap_reader_error,
)
from ._lazy import HDF5Rows
from ._types import RawData

#: Metadata node where SIGMA2 stores an electron image next to the spectra it belongs to.
NAV_IMAGE_NODE = "Signal.sigma_nav_image"
#: Metadata node with the name of that image (``'BSE'``, ``'HAADF'``...), written since files
#: from TEM phantoms were read back as ``'BSE'``; :func:`nav_image_title` covers files without it.
NAV_IMAGE_TITLE_NODE = "Signal.sigma_nav_image_title"


def nav_image_title(stored, signal_type: str) -> str:
    """Name of the image stored at :data:`NAV_IMAGE_NODE`.

    Parameters
    ----------
    stored : str or None
        The value of :data:`NAV_IMAGE_TITLE_NODE` (``None`` for files written before it).
    signal_type : str
        The spectra's signal type; without a stored name a TEM's image (``'EDS_TEM'``) is
        ``'HAADF'`` and any other ``'BSE'``.

    Returns
    -------
    str

    Examples
    --------
    >>> nav_image_title("ADF", "EDS_TEM"), nav_image_title(None, "EDS_TEM")
    ('ADF', 'HAADF')
    >>> nav_image_title(None, "EDS_SEM"), nav_image_title(b"SE", "EDS_SEM")
    ('BSE', 'SE')
    """
    if isinstance(stored, bytes):
        stored = stored.decode("utf-8", "replace")
    if isinstance(stored, str) and stored.strip():
        return stored.strip()
    return "HAADF" if signal_type == "EDS_TEM" else "BSE"


def read_hspy(path, *, lazy: bool = False) -> RawData:
    """Read an EDS spectrum image saved by HyperSpy (``.hspy``/``.hdf5``/``.zspy``).

    The signal whose ``signal_type`` starts with ``EDS`` is used (the first 3-D signal if none
    is marked). A navigation image is taken from a 2-D signal of the same map shape in the same
    file, or from the metadata node ``Signal.sigma_nav_image`` written by SIGMA2 (named by
    ``Signal.sigma_nav_image_title``, see :func:`nav_image_title`: ``'HAADF'`` for a TEM file
    without it, ``'BSE'`` otherwise); otherwise the dataset will use the sum of counts.

    Parameters
    ----------
    path
        The file (a ``.zspy`` is a folder; reading it needs the ``zarr`` package).
    lazy
        Return a dask cube in blocks of whole rows. For ``.hspy``/``.hdf5`` every block opens
        the file and reads its own rows (:class:`~sigma.io._lazy.HDF5Rows`), so the graph
        holds no open HDF5 object and can be computed by dask.distributed workers; the blocks
        hold a whole number of the file's HDF5 chunk rows where possible. A ``.zspy`` keeps
        RosettaSciIO's Zarr-backed array, which pickles as it is.

    Raises
    ------
    SigmaFileError
        The file cannot be read, holds no spectrum image, or (lazy ``.hspy``) its signal is not
        where the HyperSpy format puts it (``/Experiments/<title>/data``).

    Examples
    --------
    >>> raw = read_hspy(DATA / "hspy" / "core_shell.hspy")  # doctest: +SKIP
    >>> raw.signal_type  # doctest: +SKIP
    'EDS_TEM'
    >>> import os, pickle, tempfile
    >>> from sigma.synthetic import make_phantom
    >>> p = make_phantom((6, 8), n_channels=64).save_hspy(os.path.join(tempfile.mkdtemp(), "p.hspy"))
    >>> lazy, eager = read_hspy(p, lazy=True), read_hspy(p)
    >>> lazy.data.chunks[1:], bool((lazy.data.compute() == eager.data).all())
    (((8,), (64,)), True)
    >>> len(pickle.dumps(lazy.data)) > 0  # the graph can travel to dask workers
    True
    """
    path = Path(path)
    is_zarr = path.suffix.lower() == ".zspy"
    try:
        if is_zarr:
            from rsciio.zspy import file_reader
        else:
            from rsciio.hspy import file_reader
    except ImportError as exc:
        raise bad_file(
            path,
            f"cannot be read without the optional package {exc.name or 'zarr'!r}",
            "RosettaSciIO's zspy extra installed: pip install 'rosettasciio[zspy]'",
        ) from exc
    if is_zarr:
        _check_zarr_chunks(path)
    try:
        # .hspy eager too: RosettaSciIO reads only the metadata, the cube is read below by
        # this package's chunk decoder on every core (HDF5 decodes on one, under its lock)
        sigs = file_reader(str(path), lazy=lazy or not is_zarr)
    except Exception as exc:  # noqa: BLE001
        raise wrap_reader_error(path, exc) from exc
    cubes = [s for s in sigs if "data" in s and s["data"].ndim in (2, 3)]
    eds = [s for s in cubes if str(get(s["metadata"], "Signal.signal_type", "")).startswith("EDS")]
    pick = (eds or [s for s in cubes if s["data"].ndim == 3] or [None])[0]
    if pick is None:
        raise bad_file(path, "holds no spectrum image", "a HyperSpy EDS signal (rows, columns, channels)")
    stype = str(get(pick["metadata"], "Signal.signal_type", "") or "")
    if not stype.startswith("EDS"):
        stype = "EDS_TEM" if get(pick["metadata"], "Acquisition_instrument.TEM") else "EDS_SEM"
    nav_shape = tuple(pick["data"].shape[:2])
    nav_images = {}
    stored = get(pick["metadata"], NAV_IMAGE_NODE)
    if stored is not None:
        title = nav_image_title(get(pick["metadata"], NAV_IMAGE_TITLE_NODE), stype)
        nav_images[title] = fit_image_to_grid(_small_array(stored), nav_shape)
    for s in sigs:
        if s is not pick and "data" in s and s["data"].ndim == 2 and tuple(s["data"].shape) == nav_shape:
            title = get(s["metadata"], "General.title") or f"image{len(nav_images)}"
            nav_images[title] = _small_array(s["data"]).astype(np.float32, copy=False)
    if not is_zarr:
        index = next(i for i, s in enumerate(sigs) if s is pick)
        pick = {**pick, "data": _hdf5_cube(path, index, pick["data"], lazy)}
    raw = from_rsciio_spectrum(path, pick, signal_type=stype, nav_images=nav_images,
                               extra_md={"format": path.suffix.lower().lstrip(".")})
    if lazy and is_zarr:
        raw.data = rechunk_nav(raw.data)
    return raw


def _check_zarr_chunks(path: Path) -> None:
    """Refuse a ``.zspy`` store whose signal data lack chunk files.

    Zarr reads a missing chunk as its fill value (0), so a store copied in part would load
    with rows of zeros that then form a "phase". HyperSpy writes every chunk, empty or not.
    """
    import itertools

    import zarr

    try:
        root = zarr.open(str(path), mode="r")
        exp = root["Experiments"] if "Experiments" in root else None
        groups = list(exp.groups()) if exp is not None else []
    except Exception as exc:  # noqa: BLE001 - an unreadable store is a bad file
        raise wrap_reader_error(path, exc) from exc
    for _, group in groups:
        arr = group.get("data") if hasattr(group, "get") else None
        if not isinstance(arr, zarr.Array) or arr.nchunks_initialized >= arr.nchunks:
            continue
        sep = getattr(arr, "_dimension_separator", None) or "."
        grid = [range(-(-n // c)) for n, c in zip(arr.shape, arr.chunks, strict=True)]
        missing = [sep.join(map(str, idx)) for idx in itertools.product(*grid)
                   if f"{arr.path}/{sep.join(map(str, idx))}" not in arr.store]
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise bad_file(
            path,
            f"is missing {len(missing)} of the {arr.nchunks} chunk files of '{arr.path}' "
            f"({shown}); they would read as zeros",
            "a complete copy of the .zspy folder",
        )


def _small_array(a) -> np.ndarray:
    """A stored image as NumPy (computed without a look for a dask.distributed client)."""
    return np.asarray(compute(a, progress=False)[0])


def _signal_dataset(path: Path, index: int, shape: tuple, dtype) -> tuple[str, tuple | None]:
    """Name and HDF5 chunks of the ``data`` dataset of the ``index``-th signal of the file.

    RosettaSciIO lists the signals of a HyperSpy file in the order of the groups under
    ``/Experiments`` that hold a ``data`` dataset; the dataset found must have the shape and
    dtype of the signal read.
    """
    import h5py

    with h5py.File(path, "r") as f:
        exp = f.get("Experiments")
        groups = [] if not isinstance(exp, h5py.Group) else [
            g for g in exp.values() if isinstance(g, h5py.Group) and isinstance(g.get("data"), h5py.Dataset)
        ]
        ds = groups[index]["data"] if index < len(groups) else None
        if ds is None or ds.shape != tuple(shape) or ds.dtype != dtype:
            found = "no such dataset" if ds is None else f"'{ds.name}' of shape {ds.shape}, {ds.dtype}"
            raise bad_file(
                path,
                f"has {found} for its signal {index} (shape {tuple(shape)}, {dtype})",
                "the HyperSpy layout /Experiments/<title>/data for lazy reading",
            )
        return ds.name, ds.chunks


def _hdf5_cube(path: Path, index: int, data, lazy: bool):
    """The signal's cube: lazy (:func:`_lazy_hdf5_data`), or read into one NumPy array block by
    block, the blocks decoded in parallel straight into it (peak memory: the cube)."""
    try:
        rows, chunks = _hdf5_rows(path, index, data)
    except SigmaFileError:
        if lazy:
            raise
        rows, chunks = None, None  # not the usual layout: RosettaSciIO's lazy array, read as it reads it
    if lazy:
        return rows.as_dask(chunks)
    from .._blocks import map_row_blocks

    out = np.empty(data.shape, data.dtype if rows is None else rows.dtype)
    if out.ndim < 2:
        out[...] = np.asarray(data if rows is None else rows[...])
        return out

    def put(blk, r0, r1):
        out[r0:r1] = blk

    scratch = threading.local()  # each thread's buffer for the stored chunks, for this read

    def read(_view, r0, r1):  # each block decoded straight into the cube: no copy
        rows.read_rows(r0, r1, out[r0:r1], scratch=scratch)

    try:
        if rows is None:
            map_row_blocks(put, data, desc="reading the cube", in_process=True)
        else:  # blocks of whole file chunks, read in threads
            h, step = out.shape[0], int(chunks[0])
            map_row_blocks(read, out, blocks=[(r, min(r + step, h)) for r in range(0, h, step)],
                           desc="reading the cube")
    except SigmaFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure means a bad file
        raise wrap_reader_error(path, exc) from exc
    return out


def _hdf5_rows(path: Path, index: int, data) -> tuple[HDF5Rows, tuple[int, ...]]:
    """The signal's HDF5 dataset as :class:`HDF5Rows`, and the shape of its blocks (whole rows,
    aligned to the file's chunks)."""
    name, file_chunks = _signal_dataset(path, index, data.shape, data.dtype)
    rows = HDF5Rows(path, name, data.shape, data.dtype)
    if rows.ndim == 3:
        align = file_chunks[0] if file_chunks else 1
        chunks = nav_chunks(rows.shape, rows.dtype.itemsize, _common.CHUNK_BYTES, align=align)
    else:  # a line scan (columns, channels): one row
        chunks = rows.shape
    return rows, tuple(int(c) for c in chunks)


def _lazy_hdf5_data(path: Path, index: int, data):
    """Dask array over the signal's HDF5 dataset, picklable, in blocks of whole rows."""
    rows, chunks = _hdf5_rows(path, index, data)
    return rows.as_dask(chunks)
