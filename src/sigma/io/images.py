"""Element maps stored as images (TIFF, PNG, JPEG, BMP), one file per element."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._errors import bad_file, bad_value
from ._types import RawData

IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp")


def read_image(path) -> np.ndarray:
    """Read one image as a 2-D float32 array (RGB → luminance 0.2989 R + 0.5870 G + 0.1140 B).

    Examples
    --------
    >>> import tempfile, os, numpy as np, tifffile
    >>> p = os.path.join(tempfile.mkdtemp(), "Fe_Ka.tiff")
    >>> tifffile.imwrite(p, np.arange(6, dtype=np.uint16).reshape(2, 3))
    >>> read_image(p)
    array([[0., 1., 2.],
           [3., 4., 5.]], dtype=float32)
    """
    path = Path(path)
    if not path.exists():
        raise bad_file(path, "does not exist")
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            arr = tifffile.imread(path)
        else:
            from PIL import Image

            with Image.open(path) as im:
                arr = np.asarray(im.convert("RGB") if im.mode in ("P", "CMYK") else im)
    except Exception as exc:  # noqa: BLE001
        raise bad_file(path, f"could not be read as an image ({exc})") from exc
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        arr = arr[..., 0] * 0.2989 + arr[..., 1] * 0.5870 + arr[..., 2] * 0.1140
    elif arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise bad_file(path, f"holds an image of shape {arr.shape}", "a 2-D grey or RGB image")
    return arr.astype(np.float32)


def read_element_maps(maps, intensity_map=None) -> RawData:
    """Read element maps from a folder (one image per feature) or a list of image paths.

    Feature names are the file-name stems, sorted (``Fe_Ka.tif`` → ``'Fe_Ka'``). Hidden files and
    files of other kinds in the folder are ignored; the intensity image, if it sits in the same
    folder, is not taken as a feature.

    Parameters
    ----------
    maps
        Folder, or list of image paths.
    intensity_map
        Optional electron image used as the navigation image (else the sum of the maps).

    Examples
    --------
    >>> import tempfile, os, numpy as np, tifffile
    >>> d = tempfile.mkdtemp()
    >>> for name in ("Si_Ka", "Fe_Ka"):
    ...     tifffile.imwrite(os.path.join(d, name + ".tif"), np.ones((4, 5), np.uint8))
    >>> raw = read_element_maps(d)
    >>> raw.feature_names, raw.shape
    (['Fe_Ka', 'Si_Ka'], (4, 5, 2))
    """
    intensity = Path(intensity_map).resolve() if intensity_map is not None else None
    if isinstance(maps, (str, Path)):
        folder = Path(maps)
        if not folder.exists():
            raise bad_file(folder, "does not exist", "a folder of element-map images")
        if folder.is_dir():
            files = sorted(
                p for p in folder.iterdir()
                if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
                and p.resolve() != intensity
            )
        else:
            files = [folder]
        if not files:
            raise bad_file(folder, "contains no element-map images", f"files ending in {', '.join(IMAGE_SUFFIXES)}")
    else:
        files = [Path(p) for p in maps]
        if not files:
            raise bad_value("maps", maps, "a folder or a non-empty list of image files")
    arrays = [read_image(p) for p in files]
    shape = arrays[0].shape
    for p, a in zip(files, arrays, strict=True):
        if a.shape != shape:
            raise bad_file(p, f"has shape {a.shape}", f"the shape of the other maps, {shape}")
    cube = np.stack(arrays, axis=-1)
    nav = {}
    if intensity is not None:
        img = read_image(intensity)
        if img.shape != shape:
            from ._common import fit_image_to_grid

            img = fit_image_to_grid(img, shape)
        nav["intensity"] = img
    return RawData(
        data=cube, kind="maps", path=files[0].parent, feature_names=[p.stem for p in files],
        nav_images=nav, metadata={"format": "images", "files": [str(p) for p in files]},
    )
