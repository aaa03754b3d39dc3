"""Binary cluster masks: nearest-neighbour upscaling by index mapping and TIFF export."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from sigma._errors import bad_file, bad_value
from sigma._files import FileLedger, atomic_write_tiff

__all__ = ["upscale_labels", "read_image_shape", "write_cluster_masks"]

logger = logging.getLogger(__name__)


def upscale_labels(labels, shape) -> np.ndarray:
    """Resample a label map to ``shape`` by nearest-neighbour index mapping.

    Output pixel ``(i, j)`` takes the label of the input pixel whose area contains the
    output pixel's centre: ``i_in = floor((i + 0.5) * H / H_out)``. No interpolation, so
    labels are never mixed, masks never shrink, and for an integer factor ``s`` every input
    pixel becomes exactly an ``s x s`` block in place (no shift).

    Parameters
    ----------
    labels : array_like, shape (H, W)
    shape : tuple of int
        ``(H_out, W_out)``, each >= 1 (smaller than the input downsamples the same way).

    Returns
    -------
    ndarray, shape (H_out, W_out), same dtype as ``labels``

    Examples
    --------
    >>> upscale_labels([[0, 1], [2, 3]], (4, 4)).tolist()
    [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]
    """
    lab = np.asarray(labels)
    if lab.ndim != 2:
        raise bad_value("labels", lab.shape, "a 2-D (H, W) array")
    try:
        h_out, w_out = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise bad_value("shape", shape, "a pair of positive ints (H, W)") from None
    if h_out < 1 or w_out < 1:
        raise bad_value("shape", shape, "a pair of positive ints (H, W)")
    h, w = lab.shape
    rows = ((2 * np.arange(h_out, dtype=np.int64) + 1) * h) // (2 * h_out)
    cols = ((2 * np.arange(w_out, dtype=np.int64) + 1) * w) // (2 * w_out)
    return lab[rows[:, None], cols[None, :]]


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


def write_cluster_masks(labels, cluster_ids, output_dir, shape=None) -> list[Path]:
    """Write one ``cluster_<id>.tiff`` (uint8, 0 or 255) per cluster id.

    The folder's ledger (``.sigma2-files.json``, :class:`~sigma._files.FileLedger`) records the
    masks written, so exporting again replaces SIGMA2's own masks and removes those of clusters
    that no longer exist, while a file SIGMA2 did not write (or one edited since) is never
    replaced: the export is refused, naming it, before anything is written.

    Parameters
    ----------
    labels : array_like, shape (H, W)
    cluster_ids : iterable of int
    output_dir : path
        Created if missing.
    shape : tuple of int, optional
        Output ``(H', W')``; masks are upscaled with :func:`upscale_labels`.

    Returns
    -------
    list of Path

    Examples
    --------
    >>> import tempfile, numpy as np, tifffile
    >>> labels = np.array([[0, 1], [1, 1]])
    >>> paths = write_cluster_masks(labels, [0, 1], tempfile.mkdtemp(), shape=(4, 4))
    >>> [p.name for p in paths]
    ['cluster_0.tiff', 'cluster_1.tiff']
    >>> tifffile.imread(paths[1]).tolist()[0]
    [0, 0, 255, 255]
    """
    lab = np.asarray(labels)
    if shape is not None:
        lab = upscale_labels(lab, shape)
    out = Path(output_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise bad_file(out, f"could not be created as a folder ({exc})") from None
    ids = [int(c) for c in cluster_ids]
    names = [f"cluster_{c}.tiff" for c in ids]
    ledger = FileLedger(out)
    ledger.check_writable(names)
    paths = []
    for cid, name in zip(ids, names, strict=True):
        paths.append(atomic_write_tiff(out / name, np.where(lab == cid, np.uint8(255), np.uint8(0))))
    ledger.record(paths)
    stale = [n for n in ledger.entries() if n.startswith("cluster_") and n not in names]
    if stale:
        logger.info("removed masks of clusters that no longer exist: %s", ledger.remove(stale))
    logger.info("wrote %d cluster masks of shape %s to %s", len(paths), lab.shape, out)
    return paths
