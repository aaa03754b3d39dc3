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

__all__ = ["RawData", "load", "reader_options", "SUPPORTED_SUFFIXES"]

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
        Passed to the format's reader (for example ``site=`` for ``.h5oina``); one the reader
        does not take is an error (:func:`reader_options` lists them), never ignored.

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

        return _call(read_ripple, path, suffix, lazy=lazy, **kwargs)
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

        return _call(read_bcf, path, suffix, lazy=lazy, **kwargs)
    if suffix in (".emi", ".ser"):
        from .tia import read_emi

        return _call(read_emi, path, suffix, lazy=lazy, **kwargs)
    if suffix in (".hspy", ".hdf5", ".zspy"):
        from .hspy import read_hspy

        return _call(read_hspy, path, suffix, lazy=lazy, **kwargs)
    if suffix == ".h5oina":
        from .h5oina import read_h5oina

        return _call(read_h5oina, path, suffix, lazy=lazy, **kwargs)
    from .images import IMAGE_SUFFIXES, read_element_maps

    if suffix in IMAGE_SUFFIXES:
        return read_element_maps([path], **kwargs)
    raise bad_file(
        path,
        f"has an unsupported extension '{suffix}'",
        "one of " + ", ".join(SUPPORTED_SUFFIXES) + ", a folder of element-map images or an image",
    )


def reader_options(reader) -> list[str]:
    """The keyword arguments a reader takes besides the path and ``lazy``.

    Examples
    --------
    >>> from sigma.io.bruker import read_bcf
    >>> reader_options(read_bcf)
    ['downsample', 'cutoff_at_kV']
    """
    import inspect

    return [n for n, p in inspect.signature(reader).parameters.items()
            if p.kind is p.KEYWORD_ONLY and n != "lazy"]


def _call(reader, path: Path, suffix: str, *, lazy: bool, **kwargs):
    """Call ``reader``; reader arguments it does not take are an error, never ignored."""
    known = reader_options(reader)
    unknown = sorted(set(kwargs) - set(known))
    if unknown:
        from .._errors import bad_value

        raise bad_value(
            "reader_args", {k: kwargs[k] for k in unknown},
            f"arguments the {suffix} reader takes: "
            + (", ".join(repr(k) for k in known) if known else f"none (a {suffix} file takes no reader arguments)"),
        )
    return reader(path, lazy=lazy, **kwargs)
