"""Bruker Esprit ``.bcf`` hypermaps (SEM and TEM) through RosettaSciIO."""

from __future__ import annotations

import logging
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
        Return a dask cube chunked in whole rows.
    downsample, cutoff_at_kV
        Passed to RosettaSciIO's reader (hardware binning and channel cut-off).

    Examples
    --------
    >>> raw = read_bcf(DATA / "bcf" / "16x16_12bit_packed_8bit.bcf")  # doctest: +SKIP
    >>> raw.shape  # doctest: +SKIP
    (16, 16, 2048)
    """
    from rsciio.bruker import file_reader

    path = Path(path)
    _check_container(path)
    try:
        sigs = file_reader(str(path), lazy=lazy, downsample=downsample, cutoff_at_kV=cutoff_at_kV)
    except Exception as exc:  # noqa: BLE001 - any decoder failure means a bad file
        raise wrap_reader_error(path, exc) from exc
    eds = [s for s in sigs if str(s["metadata"].get("Signal", {}).get("signal_type", "")).startswith("EDS")]
    if not eds:
        from .._errors import bad_file

        raise bad_file(path, "holds no EDS spectrum image", "a Bruker hypermap with an EDX cube")
    eds_sig = eds[-1]
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
    if lazy:
        raw.data = rechunk_nav(raw.data)
    return raw
