"""Lazy cubes whose dask graphs travel to dask.distributed workers.

A dask array sent to a worker process is pickled with its graph. RosettaSciIO's lazy arrays
hold open ``h5py`` objects, which cannot be pickled, so the readers build their lazy cubes from
:class:`HDF5Rows` instead: a small array-like that holds only the file path, the dataset name,
the shape and the dtype, and opens the file read-only for every block it is asked for. Each
chunk is then read by whichever worker computes it (the workers must see the file under the
same path). The ``.h5oina`` reader and the HyperSpy ``.hspy`` reader share it.
"""

from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path

import numpy as np

from .._errors import bad_file, bad_value


def read_hdf5(path: str | os.PathLike, dataset: str, selection: tuple, out: np.ndarray | None = None,
              scratch=None) -> np.ndarray:
    """Open ``path`` read-only, read ``dataset[selection]`` and close the file.

    ``out`` (a C-contiguous array of the selection's shape and the dataset's dtype), when
    given, receives the values without an intermediate copy, and is returned. ``scratch``, a
    ``threading.local`` of a pass, keeps the buffer the stored chunks are read into, for this
    thread's next read (:func:`~sigma.io._hdf5chunks.read_chunked`).

    Chunks compressed with gzip or LZF, or byte-shuffled, are decoded outside HDF5
    (:mod:`sigma.io._hdf5chunks`), so blocks read from several threads decode in parallel.

    Errors (file moved, changed or cut short since it was opened) become a
    :class:`~sigma._errors.SigmaFileError` naming the path and the dataset.

    Examples
    --------
    >>> import tempfile, h5py, numpy as np
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "a.h5"
    >>> with h5py.File(p, "w") as f:
    ...     _ = f.create_dataset("x", data=np.arange(12).reshape(3, 4))
    >>> read_hdf5(p, "x", (slice(1, 3), slice(0, 4, 2)))
    array([[ 4,  6],
           [ 8, 10]])
    >>> read_hdf5(p, "y", (slice(0, 1),))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sigma._errors.SigmaFileError: File '...a.h5' could not be read at dataset 'y' ...
    """
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return _read_open(f[dataset], selection, out, scratch)
    except (OSError, KeyError) as exc:
        raise _unreadable(path, dataset, exc) from exc


def _read_open(ds, selection, out=None, scratch=None) -> np.ndarray:
    """:func:`read_hdf5` of an open dataset."""
    from ._hdf5chunks import read_chunked

    got = read_chunked(ds, selection, out, scratch) if isinstance(selection, tuple) else None
    if got is not None:
        return got
    if out is None:
        return ds[selection]
    ds.read_direct(out, source_sel=selection)
    return out


def _unreadable(path, dataset, exc):
    return bad_file(
        path,
        f"could not be read at dataset {dataset!r} ({type(exc).__name__}: {exc}); was it "
        "moved, changed or cut short after it was opened",
        "the file as it was when the lazy cube was built",
    )


class HDF5Rows:
    """Picklable array-like over an HDF5 dataset that reads the blocks it is asked for.

    Give it to :func:`dask.array.from_array` (with ``asarray=False``): every block opens the
    file read-only, reads its hyperslab and closes the file, so the graph holds only the path,
    the dataset name, the shape and the dtype and can be computed by any worker process.

    Parameters
    ----------
    path : path-like
        The HDF5 file (kept as an absolute path, since a worker may run in another working
        directory; it must see the file under that path).
    dataset : str
        Absolute name of the dataset inside the file (``'/Experiments/map/data'``).
    shape : tuple of int
        Shape of the array this object presents.
    dtype : numpy dtype
        Its dtype (that of the dataset).
    flat_pixels : bool
        ``False``: the dataset has exactly ``shape``. ``True``: ``shape`` is ``(H, W, C)`` and
        the dataset stores the pixels row by row as ``(H * W, C)`` (Oxford ``.h5oina``); a block
        of map rows ``y0:y1`` reads dataset rows ``y0 * W : y1 * W``.

    Examples
    --------
    >>> import pickle, tempfile, h5py, numpy as np, dask.array as da
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "cube.h5"
    >>> cube = np.arange(4 * 3 * 5, dtype=np.uint16).reshape(4, 3, 5)
    >>> with h5py.File(p, "w") as f:
    ...     _ = f.create_dataset("flat", data=cube.reshape(12, 5))
    >>> rows = HDF5Rows(p, "/flat", (4, 3, 5), np.uint16, flat_pixels=True)
    >>> lazy = da.from_array(rows, chunks=(2, -1, -1), asarray=False)
    >>> back = pickle.loads(pickle.dumps(lazy))  # what a worker receives
    >>> bool((back.compute() == cube).all()), lazy.chunks[0]
    (True, (2, 2))
    >>> rows[1:3, ::2, 4].tolist()
    [[19, 29], [34, 44]]
    """

    def __init__(
        self, path, dataset: str, shape: tuple[int, ...], dtype, *, flat_pixels: bool = False
    ):
        # absolute: a worker may run in another working directory
        self.path, self.dataset = Path(os.path.abspath(path)), str(dataset)
        self.shape = tuple(int(n) for n in shape)
        self.dtype, self.ndim = np.dtype(dtype), len(self.shape)
        self.flat_pixels = bool(flat_pixels)
        if self.flat_pixels and self.ndim != 3:
            raise bad_value("shape", shape, "(H, W, C) when 'flat_pixels' is True")

    def __repr__(self) -> str:
        return (
            f"HDF5Rows({str(self.path)!r}, {self.dataset!r}, shape={self.shape}, "
            f"dtype={self.dtype}{', flat_pixels=True' if self.flat_pixels else ''})"
        )

    def __dask_tokenize__(self) -> tuple:
        """Same file, unchanged on disk, same view: same dask key."""
        try:
            stat = os.stat(self.path)
            state = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            state = None
        return (
            "HDF5Rows",
            str(self.path),
            self.dataset,
            state,
            self.shape,
            self.dtype.str,
            self.flat_pixels,
        )

    @functools.cached_property
    def fine_rows(self) -> bool:
        """Whether any rows read at the cost of their own bytes: an uncompressed (maybe
        byte-shuffled) dataset whose chunks span the trailing axes, in a plain local file
        (:func:`~sigma.io._hdf5chunks.read_chunked` then reads only the rows asked for)."""
        import h5py

        from ._hdf5chunks import _chunk_rows_source, decodable

        try:
            with h5py.File(self.path, "r") as f:
                ds = f[self.dataset]
                filters = decodable(ds)
                return filters is not None and _chunk_rows_source(ds, filters) is not None
        except (OSError, KeyError):
            return False

    def as_dask(self, chunks):
        """A dask array over this dataset in ``chunks``, registered as its own row source
        (:func:`sigma._blocks.register_row_source`): a pass over it reads the rows into
        buffers it reuses instead of a new array per block."""
        import dask.array as da

        from .._blocks import register_row_source

        arr = da.from_array(self, chunks=chunks, meta=np.empty((0,) * self.ndim, self.dtype),
                            asarray=False)
        register_row_source(arr, self)
        return arr

    def read_rows(self, r0: int, r1: int, out: np.ndarray, scratch=None) -> np.ndarray:
        """Read rows ``r0:r1`` (every column and channel) into ``out`` and return it.

        ``out`` is C-contiguous, of shape ``(r1 - r0,) + shape[1:]`` and of this dtype; the
        chunks of the file land in it without a copy where they can. ``scratch``: see
        :func:`read_hdf5`.

        Examples
        --------
        >>> import tempfile, h5py, numpy as np
        >>> from pathlib import Path
        >>> p = Path(tempfile.mkdtemp()) / "cube.h5"
        >>> cube = np.arange(4 * 3 * 5, dtype=np.uint16).reshape(4, 3, 5)
        >>> with h5py.File(p, "w") as f:
        ...     _ = f.create_dataset("flat", data=cube.reshape(12, 5), chunks=(3, 5))
        >>> rows = HDF5Rows(p, "/flat", (4, 3, 5), np.uint16, flat_pixels=True)
        >>> bool((rows.read_rows(1, 3, np.empty((2, 3, 5), np.uint16)) == cube[1:3]).all())
        True
        """
        read_hdf5(self.path, self.dataset, *self._rows(r0, r1, out), scratch=scratch)
        return out

    def _rows(self, r0, r1, out):
        """The dataset's selection of rows ``r0:r1`` and ``out`` seen with its shape."""
        if self.flat_pixels:
            w, c = self.shape[1], self.shape[2]
            return (slice(r0 * w, r1 * w), slice(0, c)), out.reshape(-1, c)
        return (slice(r0, r1),) + tuple(slice(0, n) for n in self.shape[1:]), out

    @contextlib.contextmanager
    def opened(self):
        """This dataset held open for one pass over it, from the threads of this process.

        Yields an object with this one's ``shape``, ``dtype``, ``read_rows`` and
        ``read_planes``, which read through one open file instead of opening it for every
        block (0.3 ms a block: 0.13 CPU-s of a pass over a 3.2 GB cube in 8 MB blocks).
        h5py serialises its own calls; the stored bytes are read with ``os.preadv``, in
        parallel.

        Examples
        --------
        >>> import tempfile, h5py, numpy as np
        >>> from pathlib import Path
        >>> p = Path(tempfile.mkdtemp()) / "cube.h5"
        >>> cube = np.arange(4 * 3 * 5, dtype=np.uint16).reshape(4, 3, 5)
        >>> with h5py.File(p, "w") as f:
        ...     _ = f.create_dataset("c", data=cube, chunks=(2, 3, 5), shuffle=True)
        >>> with HDF5Rows(p, "/c", (4, 3, 5), np.uint16).opened() as rows:
        ...     a = rows.read_rows(1, 3, np.empty((2, 3, 5), np.uint16))
        ...     b = rows.read_planes(1, 3, np.empty((2, 2, 3, 5), np.uint8))
        >>> bool((a == cube[1:3]).all()), bool(((b[0] | b[1].astype(np.uint16) << 8) == a).all())
        (True, True)
        """
        import h5py

        try:
            f = h5py.File(self.path, "r")
        except OSError as exc:
            raise _unreadable(self.path, self.dataset, exc) from exc
        try:
            try:
                ds = f[self.dataset]
            except KeyError as exc:
                raise _unreadable(self.path, self.dataset, exc) from exc
            yield _OpenRows(self, ds)
        finally:
            f.close()

    def __getitem__(self, key) -> np.ndarray:
        """Read the block ``key`` (slices with positive steps read only that hyperslab)."""
        if not isinstance(key, tuple):
            key = (key,)
        simple = len(key) <= self.ndim and all(
            isinstance(k, slice) and (k.step is None or k.step > 0) for k in key
        )
        if not simple:  # ints, fancy or reversed indexing: read everything, then index
            return self[(slice(None),) * self.ndim][key]
        key = key + (slice(None),) * (self.ndim - len(key))
        ranges = [range(*k.indices(n)) for k, n in zip(key, self.shape, strict=True)]
        if any(len(r) == 0 for r in ranges):
            return np.zeros([len(r) for r in ranges], self.dtype)
        if not self.flat_pixels:
            sel = tuple(slice(r.start, r.stop, r.step) for r in ranges)
            return np.asarray(read_hdf5(self.path, self.dataset, sel), dtype=self.dtype)
        (ys, xs, cs), W = ranges, self.shape[1]
        y0, y1 = ys.start, ys[-1] + 1
        c0, c1 = cs.start, cs[-1] + 1
        rows = read_hdf5(self.path, self.dataset, (slice(y0 * W, y1 * W), slice(c0, c1)))
        block = np.asarray(rows, dtype=self.dtype).reshape(y1 - y0, W, c1 - c0)
        return block[:: ys.step, xs.start : xs.stop : xs.step, :: cs.step]


class _OpenRows:
    """:class:`HDF5Rows` over a dataset held open (:meth:`HDF5Rows.opened`)."""

    def __init__(self, rows: HDF5Rows, ds):
        self._rows, self._ds = rows, ds
        self.shape, self.dtype, self.ndim = rows.shape, rows.dtype, rows.ndim

    def read_rows(self, r0: int, r1: int, out: np.ndarray, scratch=None) -> np.ndarray:
        """:meth:`HDF5Rows.read_rows` through the open file."""
        try:
            _read_open(self._ds, *self._rows._rows(r0, r1, out), scratch)
        except (OSError, KeyError) as exc:
            raise _unreadable(self._rows.path, self._rows.dataset, exc) from exc
        return out

    def read_planes(self, r0: int, r1: int, out: np.ndarray) -> np.ndarray | None:
        """Rows ``r0:r1`` as the byte planes they are stored in
        (:func:`~sigma.io._hdf5chunks.read_planes`; ``out`` is ``uint8``, of shape
        ``(itemsize, r1 - r0) + shape[1:]``), or ``None`` when the file does not store them
        so (then :meth:`read_rows`)."""
        from ._hdf5chunks import read_planes

        if self._rows.flat_pixels:
            return None
        try:
            return read_planes(self._ds, r0, r1, out)
        except (OSError, KeyError) as exc:
            raise _unreadable(self._rows.path, self._rows.dataset, exc) from exc
