"""HyperSpy ``.hspy`` (HDF5) and ``.zspy`` (Zarr) files through RosettaSciIO."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._errors import bad_file
from ._common import fit_image_to_grid, from_rsciio_spectrum, get, rechunk_nav, wrap_reader_error
from ._types import RawData

#: Metadata node where SIGMA2 stores an electron image next to the spectra it belongs to.
NAV_IMAGE_NODE = "Signal.sigma_nav_image"


def read_hspy(path, *, lazy: bool = False) -> RawData:
    """Read an EDS spectrum image saved by HyperSpy (``.hspy``/``.hdf5``/``.zspy``).

    The signal whose ``signal_type`` starts with ``EDS`` is used (the first 3-D signal if none
    is marked). A navigation image is taken from a 2-D signal of the same map shape in the same
    file, or from the metadata node ``Signal.sigma_nav_image`` written by SIGMA2; otherwise the
    dataset will use the sum of counts.

    Examples
    --------
    >>> raw = read_hspy(DATA / "hspy" / "core_shell.hspy")  # doctest: +SKIP
    >>> raw.signal_type  # doctest: +SKIP
    'EDS_TEM'
    """
    path = Path(path)
    if path.suffix.lower() == ".zspy":
        from rsciio.zspy import file_reader
    else:
        from rsciio.hspy import file_reader
    try:
        sigs = file_reader(str(path), lazy=lazy)
    except Exception as exc:  # noqa: BLE001
        raise wrap_reader_error(path, exc) from exc
    cubes = [s for s in sigs if s["data"].ndim in (2, 3)]
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
        nav_images["BSE"] = fit_image_to_grid(np.asarray(stored), nav_shape)
    for s in sigs:
        if s is not pick and s["data"].ndim == 2 and tuple(s["data"].shape) == nav_shape:
            title = get(s["metadata"], "General.title") or f"image{len(nav_images)}"
            nav_images[title] = np.asarray(s["data"], dtype=np.float32)
    raw = from_rsciio_spectrum(path, pick, signal_type=stype, nav_images=nav_images,
                               extra_md={"format": path.suffix.lower().lstrip(".")})
    if lazy:
        raw.data = rechunk_nav(raw.data)
    return raw
