"""Binary cluster masks: labels mapped onto the scanned field of view, and TIFF export.

Geometry. A map of ``original_shape = (H0, W0)`` scanned pixels binned by ``bin_size =
(by, bx)`` has labels on a grid of ``(h, w)`` bins: ``h = H0 // by`` when the partial edge
block was dropped, ``h = ceil(H0 / by)`` when it was padded (likewise ``w``). Scanned row ``r``
belongs to bin ``r // by``; rows past the last bin (the dropped edge) belong to no bin and
are unassigned (``-1``, 0 in every mask). A high-resolution image of the same field of view
has the map's aspect ratio; each of its pixels takes the scanned pixel containing its centre
(:func:`sigma._resample.nearest_index`), then that pixel's bin. So every scanned pixel lies in
exactly the mask of its bin's cluster, and nothing is stretched.

Export. :func:`write_cluster_masks` writes ``cluster_<id>.tiff`` and records each file's
SHA-256 in the folder's ledger (``.sigma2-files.json``, :class:`sigma._files.FileLedger`).
Exporting again into the same folder replaces the files it lists and removes the masks of clusters that no longer exist, but only
files SIGMA2 wrote and nobody changed since: any other file of a mask's name is an error
(before anything is written), and other files are never touched.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import numpy as np

from sigma._errors import bad_file, bad_value
from sigma._files import LEDGER_NAME, FileLedger
from sigma._resample import nearest_index

__all__ = [
    "MANIFEST",
    "check_field_of_view",
    "read_image_shape",
    "upscale_labels",
    "write_cluster_masks",
]

logger = logging.getLogger(__name__)

#: Name of the ledger (:class:`sigma._files.FileLedger`) that lists the masks SIGMA2 wrote.
MANIFEST = LEDGER_NAME
_MASK_NAME = re.compile(r"cluster_-?\d+\.tiff")


def _pair(value, name) -> tuple[int, int]:
    try:
        a, b = value
        ok = all(not isinstance(v, bool) and int(v) == v and int(v) >= 1 for v in (a, b))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise bad_value(name, value, "a pair of positive ints")
    return int(a), int(b)


def _bins(n_scan: int, size: int, n_bins: int, axis: str) -> None:
    lo, hi = n_scan // size, -(-n_scan // size)
    if n_bins not in (lo, hi):
        raise bad_value(
            "original_shape",
            f"{n_scan} scanned {axis} binned by {size} for {n_bins} label {axis}",
            f"{lo} (partial edge dropped) or {hi} (partial edge padded) label {axis}",
        )


def check_field_of_view(map_shape, image_shape, path=None, *, name="shape") -> None:
    """Refuse an image whose aspect ratio differs from the map's field of view.

    The image must be the scanned ``map_shape`` scaled by one factor, allowing the rounding
    of its sizes to whole pixels (and 0.5 % slack): an image with a data bar, or of a
    different area, would put every mask in the wrong place.

    Parameters
    ----------
    map_shape : tuple of int
        ``(H0, W0)`` scanned pixels of the map.
    image_shape : tuple of int
        ``(H, W)`` of the image.
    path : path, optional
        The image's file, named in the error.
    name : str
        The parameter named in the error.

    Examples
    --------
    >>> check_field_of_view((31, 37), (310, 370))
    >>> check_field_of_view((100, 100), (768, 1024))
    Traceback (most recent call last):
    ...
    sigma._errors.SigmaValueError: The 'shape' parameter must be an image of the map's ...
    """
    h0, w0 = _pair(map_shape, "map_shape")
    hh, wh = _pair(image_shape, "image_shape")
    mismatch = abs(hh * w0 - wh * h0)
    if mismatch > 0.5 * (h0 + w0) + 0.005 * max(hh * w0, wh * h0):
        raise bad_value(
            name,
            f"{path or 'an image'} of {hh} x {wh} pixels (aspect {wh / hh:.4f})",
            f"an image of the map's field of view, {h0} x {w0} scanned pixels (aspect "
            f"{w0 / h0:.4f}) scaled by one factor; crop a data bar or margin first",
        )


def upscale_labels(labels, shape, *, original_shape=None, bin_size=(1, 1)) -> np.ndarray:
    """Map labels of binned pixels onto an image of the scanned field of view.

    Parameters
    ----------
    labels : array_like of int, shape (h, w)
        Cluster id per bin (``-1`` noise).
    shape : tuple of int
        ``(H_out, W_out)`` of the output image, with the aspect ratio of
        ``original_shape`` (checked by :func:`check_field_of_view`).
    original_shape : tuple of int, optional
        ``(H0, W0)`` scanned pixels before binning; default ``(h * by, w * bx)``.
    bin_size : tuple of int
        ``(by, bx)`` of the binning; ``h`` must be ``H0 // by`` or ``ceil(H0 / by)``.

    Returns
    -------
    ndarray of int, shape (H_out, W_out)
        The label of each output pixel's bin; ``-1`` where that pixel lies in a partial edge
        block that was dropped by the binning.

    Examples
    --------
    >>> upscale_labels([[0, 1], [2, 3]], (4, 4)).tolist()
    [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]

    A 5 x 5 map binned 2 x 2 without its last row and column (2 x 2 labels):

    >>> upscale_labels([[0, 1], [2, 3]], (5, 5), original_shape=(5, 5), bin_size=(2, 2))
    array([[ 0,  0,  1,  1, -1],
           [ 0,  0,  1,  1, -1],
           [ 2,  2,  3,  3, -1],
           [ 2,  2,  3,  3, -1],
           [-1, -1, -1, -1, -1]])
    """
    lab = np.asarray(labels)
    if lab.ndim != 2:
        raise bad_value("labels", lab.shape, "a 2-D (H, W) array")
    h_out, w_out = _pair(shape, "shape")
    if not np.issubdtype(lab.dtype, np.integer):
        raise bad_value("labels", lab.dtype, "integer cluster ids")
    by, bx = _pair(bin_size, "bin_size")
    h, w = lab.shape
    h0, w0 = (h * by, w * bx) if original_shape is None else _pair(original_shape, "original_shape")
    _bins(h0, by, h, "rows")
    _bins(w0, bx, w, "columns")
    check_field_of_view((h0, w0), (h_out, w_out))
    rows = nearest_index(h_out, h0) // by  # output row -> scanned row -> bin row
    cols = nearest_index(w_out, w0) // bx
    out_dtype = lab.dtype if lab.dtype.kind == "i" else np.int32
    out = lab.astype(out_dtype, copy=False)[
        np.minimum(rows, h - 1)[:, None], np.minimum(cols, w - 1)[None, :]
    ]
    out[rows >= h, :] = -1
    out[:, cols >= w] = -1
    return out


def read_image_shape(path) -> tuple[int, int]:
    """``(height, width)`` of an image file, without decoding more than needed.

    TIFF files are read with tifffile (first page), other formats with Pillow.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, tifffile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "hr.tif"
    >>> tifffile.imwrite(p, np.zeros((6, 9), np.uint8))
    >>> read_image_shape(p)
    (6, 9)
    """
    path = Path(path)
    if not path.is_file():
        raise bad_file(path, "does not exist or is not a file", "an image (.tif, .tiff, .png, ...)")
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            with tifffile.TiffFile(path) as tf:
                page = tf.pages[0]
                return int(page.imagelength), int(page.imagewidth)
        from PIL import Image

        with Image.open(path) as im:
            w, h = im.size
            return int(h), int(w)
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a bad file
        raise bad_file(
            path, f"could not be read as an image ({exc})", "a TIFF or an image Pillow reads"
        ) from None


def write_cluster_masks(
    labels, cluster_ids, output_dir, shape=None, *, original_shape=None, bin_size=(1, 1)
) -> list[Path]:
    """Write one ``cluster_<id>.tiff`` (uint8, 0 or 255) per cluster id, and the manifest.

    Parameters
    ----------
    labels : array_like, shape (h, w)
    cluster_ids : iterable of int
    output_dir : path
        Created if missing. Masks a previous export wrote there (listed in its
        ``.sigma2-files.json``, unchanged since) are replaced, or removed when their cluster no
        longer exists; any other file named like a new mask is an error; other files stay.
    shape : tuple of int, optional
        Output ``(H', W')`` of an image of the scanned field of view; labels are mapped
        with :func:`upscale_labels` (``original_shape`` and ``bin_size`` as there).

    Returns
    -------
    list of Path

    Examples
    --------
    >>> import tempfile, numpy as np, tifffile
    >>> labels = np.array([[0, 1], [1, 1]])
    >>> folder = tempfile.mkdtemp()
    >>> paths = write_cluster_masks(labels, [0, 1], folder, shape=(4, 4))
    >>> [p.name for p in paths]
    ['cluster_0.tiff', 'cluster_1.tiff']
    >>> tifffile.imread(paths[1]).tolist()[0]
    [0, 0, 255, 255]
    >>> [p.name for p in write_cluster_masks(np.ones((2, 2), int), [1], folder)]
    ['cluster_1.tiff']
    >>> import os; sorted(os.listdir(folder))  # cluster 0 no longer exists
    ['.sigma2-files.json', 'cluster_1.tiff']
    """
    import tifffile

    lab = np.asarray(labels)
    if shape is not None:
        lab = upscale_labels(lab, shape, original_shape=original_shape, bin_size=bin_size)
    elif lab.ndim != 2:
        raise bad_value("labels", lab.shape, "a 2-D (H, W) array")
    ids = [int(c) for c in cluster_ids]
    out = Path(output_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise bad_file(out, f"could not be created as a folder ({exc})") from None
    ledger = FileLedger(out)

    def tiff(cid):
        def encode():
            buf = io.BytesIO()
            tifffile.imwrite(buf, np.where(lab == cid, np.uint8(255), np.uint8(0)))
            return buf.getvalue()

        return encode

    files = {f"cluster_{cid}.tiff": tiff(cid) for cid in ids}
    stale = [n for n in ledger.entries() if _MASK_NAME.fullmatch(n) and n not in files]
    paths = ledger.write_files(files, remove=stale)
    for name in stale:
        if not (out / name).exists():
            logger.info("removed %s: its cluster no longer exists", out / name)
    logger.info("wrote %d cluster masks of shape %s to %s", len(ids), lab.shape, out)
    return paths
