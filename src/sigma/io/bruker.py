"""Bruker Esprit ``.bcf`` hypermaps (SEM and TEM) through RosettaSciIO.

A hypermap is stored as one compressed stream of pixels; a row cannot be decoded without the
rows before it. The lazy cube is therefore one task that decodes the whole cube (on whichever
dask worker runs it), split afterwards into blocks of whole rows for the stages that follow.

RosettaSciIO's compiled decoder does not check the stream it walks: a corrupt file can make it
write outside its array and kill the interpreter. What can be checked cheaply is checked first
(the container's chunk table against the file size, the stream's own map size against the
header); the decode itself always runs in a helper process (:mod:`sigma.io._isolate`), so a
crash there becomes a :class:`~sigma._errors.SigmaFileError` naming the file. Measured on the
ten real ``.bcf`` files (``benchmarks/bench_bcf_isolation.py``): about twice the in-process
time of reading a cube (tens of milliseconds each) plus a one-off start of the helper.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from ._common import fit_image_to_grid, from_rsciio_spectrum, rechunk_nav, wrap_reader_error
from ._types import RawData

log = logging.getLogger(__name__)


def _same_field(img_sig: dict, eds_sig: dict, tol: float = 0.02) -> bool:
    """True when an electron image covers the same field of view as the EDS map."""
    ext = []
    for s in (img_sig, eds_sig):
        a = s["axes"]
        ext.append((a[0]["size"] * float(a[0]["scale"]), a[1]["size"] * float(a[1]["scale"])))
    (ih, iw), (eh, ew) = ext
    return abs(ih - eh) <= tol * abs(eh) and abs(iw - ew) <= tol * abs(ew)


def _check_container(path: Path) -> None:
    """Refuse a truncated ``.bcf`` before the compiled decoder reads past the end of the file.

    A ``.bcf`` is an SFS container: every internal file is a list of chunk pointers. When a
    pointer (plus the bytes that chunk must hold) lies beyond the end of the file, the file was
    cut short, and decoding it could crash the interpreter instead of raising.
    """
    from rsciio.bruker._api import SFS_reader

    size = path.stat().st_size
    try:
        sfs = SFS_reader(str(path))
    except Exception as exc:  # noqa: BLE001
        raise wrap_reader_error(path, exc) from exc

    def items(node):
        for v in node.values():
            yield from (items(v) if isinstance(v, dict) else [v])

    for item in items(sfs.vfs):
        if getattr(item, "is_dir", False) or not getattr(item, "size", 0):
            continue
        try:
            item._fill_pointer_table()
            pointers = np.asarray(item.pointers, dtype=np.int64)
        except Exception as exc:  # noqa: BLE001
            raise wrap_reader_error(path, exc) from exc
        left = item.size - np.arange(pointers.size, dtype=np.int64) * sfs.usable_chunk
        need = int((pointers + np.clip(left, 0, sfs.usable_chunk)).max(initial=0))
        if need > size:
            from .._errors import bad_file

            raise bad_file(
                path,
                f"could not be read (its part {item.name!r} needs {need} bytes but the file has "
                f"{size}); it may be truncated or corrupt",
            )


def read_bcf(path, *, lazy: bool = False, downsample: int = 1, cutoff_at_kV=None) -> RawData:
    """Read a Bruker ``.bcf`` file.

    The EDS cube is the last signal RosettaSciIO returns; every electron image (BSE, SE,
    HAADF...) that covers the map's field of view becomes a navigation image on the EDS grid
    (block-averaged or resized when its pixel count differs). An image of another field, such as
    an overview, is kept out of ``nav_images`` and noted in ``metadata['other_images']``.

    Parameters
    ----------
    path
        The ``.bcf`` file.
    lazy
        Return a dask cube chunked in whole rows. Its graph holds only the path and the
        reader arguments: one task opens the file and decodes the whole cube with
        RosettaSciIO where it runs (a dask.distributed worker too; the workers must see the
        file under the same path), then the cube is split into row blocks. **Limitation:** a
        ``.bcf`` cannot be decoded by parts, so the decode of one file runs in one worker, in
        one piece of memory the size of the cube; only the stages after it spread over the
        workers.
    downsample, cutoff_at_kV
        Passed to RosettaSciIO's reader (hardware binning and channel cut-off).

    Raises
    ------
    SigmaFileError
        Truncated or corrupt file, or no EDS hypermap in it (also when a worker decodes a lazy
        cube from a file that changed after it was opened).

    Examples
    --------
    >>> raw = read_bcf(DATA / "bcf" / "16x16_12bit_packed_8bit.bcf")  # doctest: +SKIP
    >>> raw.shape  # doctest: +SKIP
    (16, 16, 2048)
    >>> lazy = read_bcf(DATA / "bcf" / "16x16_12bit_packed_8bit.bcf", lazy=True)  # doctest: +SKIP
    >>> bool((lazy.data.compute() == raw.data).all())  # doctest: +SKIP
    True
    """
    from rsciio.bruker import file_reader

    from ._isolate import prestart

    path = Path(path)
    _check_container(path)
    if not lazy:
        prestart()  # the decoding helper imports while the metadata is read here
    try:  # metadata and images only: the cube is decoded in the helper process
        sigs = file_reader(str(path), lazy=True, downsample=downsample, cutoff_at_kV=cutoff_at_kV)
    except Exception as exc:  # noqa: BLE001 - any reader failure means a bad file
        raise wrap_reader_error(path, exc) from exc
    eds_sig = _eds_signal(path, sigs)
    _check_stream(path, eds_sig["data"].shape, downsample)
    signal_type = eds_sig["metadata"]["Signal"]["signal_type"]
    nav_shape = tuple(eds_sig["data"].shape[:2])
    nav_images, other = {}, []
    for s in sigs:
        if s is eds_sig or s["data"].ndim != 2:
            continue
        title = s["metadata"].get("General", {}).get("title") or f"image{len(nav_images)}"
        if tuple(s["data"].shape) == nav_shape or _same_field(s, eds_sig):
            nav_images[title] = fit_image_to_grid(np.asarray(s["data"]), nav_shape)
        else:
            other.append({"title": title, "shape": list(s["data"].shape)})
            log.info("%s: image %r covers another field of view; not used as navigator", path, title)
    raw = from_rsciio_spectrum(
        path, eds_sig, signal_type=signal_type, nav_images=nav_images,
        extra_md={"other_images": other, "format": "bcf"},
    )
    if raw.energy_resolution_mnka is None:
        raw.energy_resolution_mnka = header_fwhm_mnka(eds_sig.get("original_metadata", {}))
    if lazy:
        raw.data = rechunk_nav(_lazy_cube(path, raw.data, downsample, cutoff_at_kV))
    else:
        raw.data = _decode_cube(str(path), downsample, cutoff_at_kV, raw.data.shape,
                                raw.data.dtype.str)
    return raw


#: Energy of Mn Kα (keV), where detector resolutions are quoted.
MN_KA_KEV = 5.8987


def header_fwhm_mnka(original_metadata: dict) -> float | None:
    """Detector FWHM at Mn Kα (eV) from a Bruker header's resolution model, or None.

    Bruker stores the peak width as :math:`\\sigma^2 = \\text{SigmaAbs} + \\text{SigmaLin}\\,E`
    (keV², E in keV) under ``Spectrum``; RosettaSciIO passes it on in ``original_metadata``
    but does not convert it.

    Examples
    --------
    >>> round(header_fwhm_mnka({"Spectrum": {"SigmaAbs": 2.2868e-4, "SigmaLin": 4.4664e-4}}), 1)
    126.0
    >>> header_fwhm_mnka({"Spectrum": {}}) is None
    True
    """
    spec = (original_metadata or {}).get("Spectrum", {}) or {}
    try:
        var = float(spec["SigmaAbs"]) + float(spec["SigmaLin"]) * MN_KA_KEV
    except (KeyError, TypeError, ValueError):
        return None
    if not np.isfinite(var) or var <= 0:
        return None
    fwhm = 2.3548200450309493 * np.sqrt(var) * 1000.0
    return float(fwhm) if 40.0 < fwhm < 400.0 else None


def _eds_signal(path: Path, sigs: list[dict]) -> dict:
    """The EDS hypermap among RosettaSciIO's signals (the last one)."""
    eds = [s for s in sigs if str(s["metadata"].get("Signal", {}).get("signal_type", "")).startswith("EDS")]
    if not eds:
        from .._errors import bad_file

        raise bad_file(path, "holds no EDS spectrum image", "a Bruker hypermap with an EDX cube")
    return eds[-1]


def _check_stream(path: Path, shape: tuple, downsample: int) -> None:
    """Refuse a pixel stream whose own header disagrees with the file's header.

    The compiled decoder takes the map's height and width from the first 8 bytes of the
    stream and writes rows up to that height into an array sized from the file's header: a
    mismatch would write outside the array.
    """
    from rsciio.bruker._api import SFS_reader

    from .._errors import bad_file

    try:
        sfs = SFS_reader(str(path))
        names = sorted(n for n in sfs.vfs["EDSDatabase"] if "SpectrumData" in n)
        item = sfs.get_file(f"EDSDatabase/{names[0]}")
        head = next(item.get_iter_and_properties()[0], b"")[:8]  # decompressed when packed
    except Exception as exc:  # noqa: BLE001
        raise wrap_reader_error(path, exc) from exc
    if len(head) < 8:
        raise bad_file(path, "has a pixel stream shorter than its 8-byte header",
                       "an intact .bcf")  # fmt: skip
    h, w = (int(v) for v in np.frombuffer(head[:8], "<u4"))
    d = max(int(downsample), 1)
    if (-(-h // d), -(-w // d)) != tuple(int(n) for n in shape[:2]):
        raise bad_file(
            path,
            f"has a pixel stream of {h} x {w} pixels but a header describing "
            f"{shape[0] * d} x {shape[1] * d}; it is corrupt",
            "an intact .bcf",
        )


def _decode_in_helper(path: str, downsample=1, cutoff_at_kV=None) -> np.ndarray:
    """Open a ``.bcf`` and decode its EDS cube with RosettaSciIO's compiled decoder.

    This is what runs in the helper process of :mod:`sigma.io._isolate`; call
    :func:`read_bcf` instead, which never runs it in the calling process.
    """
    from rsciio.bruker import file_reader

    p = Path(path)
    _check_container(p)  # the file may have been cut short since it was opened
    try:
        sigs = file_reader(path, select_type="spectrum_image", downsample=downsample,
                           cutoff_at_kV=cutoff_at_kV)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure means a bad file
        raise wrap_reader_error(p, exc) from exc
    return _eds_signal(p, sigs)["data"]


def _decode_cube(path: str, downsample, cutoff_at_kV, shape: tuple, dtype: str) -> np.ndarray:
    """Decode the EDS cube of a ``.bcf`` in the helper process (a crash there is an error
    naming the file); the task of a lazy cube, also on a dask worker."""
    from .._errors import bad_file
    from ._isolate import decode_isolated

    p = Path(path)
    data = decode_isolated("bcf", p, downsample=downsample, cutoff_at_kV=cutoff_at_kV)
    if data.shape != tuple(shape) or data.dtype != np.dtype(dtype):
        raise bad_file(
            p,
            f"decoded to a cube of shape {data.shape} and dtype {data.dtype}; was it changed "
            "after it was opened",
            f"shape {tuple(shape)} and dtype {np.dtype(dtype)} as when it was opened",
        )
    return data


def _lazy_cube(path: Path, like, downsample, cutoff_at_kV):
    """One-task dask cube: the task holds the path and reader arguments, nothing open."""
    import dask
    import dask.array as da
    from dask.base import tokenize

    full = os.path.abspath(path)  # a worker may run in another working directory
    shape, dtype = tuple(int(n) for n in like.shape), np.dtype(like.dtype)
    stat = os.stat(full)
    token = tokenize(full, stat.st_mtime_ns, stat.st_size, downsample, cutoff_at_kV, shape, dtype.str)
    cube = dask.delayed(_decode_cube, pure=True)(
        full, downsample, cutoff_at_kV, shape, dtype.str, dask_key_name=f"decode-bcf-{token}"
    )
    meta = np.empty((0, 0, 0), dtype)
    return da.from_delayed(cube, shape=shape, dtype=dtype, meta=meta, name=f"bcf-{token}")
