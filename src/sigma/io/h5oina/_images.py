"""Electron images of an ``.h5oina`` slice, cropped to the EDS area and placed on its grid."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..._errors import bad_file
from ._spec import _IMAGE_KINDS, _scalar

logger = logging.getLogger("sigma.io.h5oina")


def _resize(img: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resample a 2-D image: block mean for integer shrink factors, else bilinear."""
    h, w = img.shape
    H, W = shape
    img = img.astype(np.float64)
    if h >= H and w >= W and h % H == 0 and w % W == 0:
        return img.reshape(H, h // H, W, w // W).mean(axis=(1, 3))

    def axis(n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        i0 = np.floor(pos).astype(int)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, pos - i0

    y0, y1, fy = axis(H, h)
    x0, x1, fx = axis(W, w)
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bottom = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    return top * (1 - fy)[:, None] + bottom * fy[:, None]


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
    return _resize(img, grid).astype(np.float32), True


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
