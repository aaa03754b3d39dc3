"""Electron images of an ``.h5oina`` slice, cropped to the EDS area and placed on its grid."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..._errors import bad_file
from ..._resample import resample
from ._spec import _IMAGE_KINDS, _scalar

logger = logging.getLogger("sigma.io.h5oina")


def _place_on_grid(
    img: np.ndarray, grid: tuple[int, int], rel_offset, rel_size
) -> tuple[np.ndarray, bool]:
    """Crop the EDS bounding box out of an electron image and resample it onto the EDS grid.

    Spec: Common Header, *Relative Offset* (top-left corner, x and y normalised by the image
    width and height) and *Relative Size* (width, height normalised likewise). The crop comes
    first, whatever the image's size: an image with as many pixels as the map may still
    cover a larger field than the map.

    Examples
    --------
    >>> img = np.arange(16, dtype=np.float32).reshape(4, 4)
    >>> out, resampled = _place_on_grid(img, (4, 4), (0.5, 0.5), (0.5, 0.5))
    >>> resampled, out[0].tolist()  # the bottom-right quarter, upsampled 2x
    (True, [10.0, 10.0, 11.0, 11.0])
    """
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
    if img.shape == tuple(grid):
        return img.astype(np.float32), (h, w) != img.shape
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
