"""Readers for every supported file format, behind one :func:`load`.

One module per format family returns a plain :class:`RawData`; :func:`load` picks the reader
from the file name. Formats: Bruker ``.bcf``; TIA ``.emi``/``.ser``; HyperSpy ``.hspy``/``.hdf5``/
``.zspy``; ripple ``.rpl``/``.raw`` (with AZtec ``.txt``/``.par`` side files); Oxford ``.h5oina``;
element-map images (folder or list of TIFF/PNG files).
"""

from __future__ import annotations

from pathlib import Path

from .._errors import bad_file
from ._types import RawData

__all__ = ["RawData", "load", "SUPPORTED_SUFFIXES"]

SUPPORTED_SUFFIXES = (".bcf", ".emi", ".ser", ".hspy", ".hdf5", ".zspy", ".rpl", ".raw", ".h5oina")


def load(path, *, lazy: bool = False, **kwargs) -> RawData:
    """Read any supported file into :class:`RawData`.

    Parameters
    ----------
    path
        File path (for element maps: a folder or an image file).
    lazy
        Keep the cube as a dask array chunked in whole rows, read on demand.
    **kwargs
        Passed to the format's reader (for example ``site=`` for ``.h5oina``).

    Raises
    ------
    SigmaFileError
        Missing file, unsupported extension, truncated or corrupt content.

    Examples
    --------
    >>> load("missing.bcf")
    Traceback (most recent call last):
    ...
    sigma._errors.SigmaFileError: File 'missing.bcf' does not exist.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".raw" or suffix == ".rpl":
        from .ripple import read_ripple

        return read_ripple(path, lazy=lazy, **kwargs)
    if not path.exists():
        raise bad_file(path, "does not exist")
    if path.is_dir() and suffix in SUPPORTED_SUFFIXES and suffix != ".zspy":
        raise bad_file(path, "is a folder", f"a {suffix} file (only a .zspy store is a folder)")
    if path.is_dir() and suffix != ".zspy":  # a .zspy (Zarr) store is a folder too
        from .images import read_element_maps

        return read_element_maps(path, **kwargs)
    if path.is_file() and path.stat().st_size == 0:
        raise bad_file(path, "is empty (0 bytes)", "a complete data file")
    if suffix == ".bcf":
        from .bruker import read_bcf

        return read_bcf(path, lazy=lazy, **kwargs)
    if suffix in (".emi", ".ser"):
        from .tia import read_emi

        return read_emi(path, lazy=lazy)
    if suffix in (".hspy", ".hdf5", ".zspy"):
        from .hspy import read_hspy

        return read_hspy(path, lazy=lazy)
    if suffix == ".h5oina":
        from .h5oina import read_h5oina

        return read_h5oina(path, lazy=lazy, **kwargs)
    from .images import IMAGE_SUFFIXES, read_element_maps

    if suffix in IMAGE_SUFFIXES:
        return read_element_maps([path], **kwargs)
    raise bad_file(
        path,
        f"has an unsupported extension '{suffix}'",
        "one of " + ", ".join(SUPPORTED_SUFFIXES) + ", a folder of element-map images or an image",
    )
