"""Oxford Instruments AZtec ``.h5oina`` files (HDF5): reader, table of contents and writer.

One module per responsibility: ``_spec`` (layout constants and HDF5 helpers), ``_images``
(electron images on the EDS grid), ``_read`` (:func:`read_h5oina`), ``_contents``
(:func:`list_h5oina_contents`) and ``_write`` (:func:`write_h5oina`).

Everything here follows the published *Oxford Instruments NanoAnalysis HDF5 File Specification*
(``H5OINAFile.md`` in https://github.com/oinanoanalysis/h5oina, format versions 1.0-8.0).
Section names of that document are quoted in the docstrings as *"Spec: <section>"*.

Layout read and written (Spec: Root Level, Slice, Technique, Common Header, EDS,
Electron Image)::

    /Format Version                      string, mandatory
    /Index                               string (n slices, 1), attribute Type = Single | Feature
    /<slice>/                            "1", "2", ... (called *site* in SIGMA2's API)
        EDS | EDS1, EDS2, ...            one technique group per EDS detector (Unity: EDS1, EDS2)
            Header/X Cells, Y Cells      int32, map width and height in pixels
            Header/X Step, Y Step        float32, step in micrometres
            Header/Channel Width         float32, eV per channel
            Header/Start Channel         float32, eV at channel 0
            Header/Beam Voltage          float32, kV
            Data/Spectrum                int32 (X Cells * Y Cells, channels), LZF (new in 7.0)
            Data/Live Time               float32 (size, 1), s; NaN outside the scanned area
            Data/Window Integral/<El Ln> float32 (size, 1), counts per second
        Electron Image/
            Header/X Cells, Y Cells ...  size of the electron images
            Data/BSE/<any name>          (width * height, 1) image
            Data/SE/<any name>

Pixel order: the first axis of every Data dataset enumerates the pixels of the map row by row
(x fastest), so ``Spectrum.reshape(Y Cells, X Cells, channels)`` is the ``(H, W, C)`` cube with
axis 0 = y (rows) and axis 1 = x (columns).

Out-of-scan pixels
------------------
The specification (Spec: General Notes; Definition of Bounding Box) sets the value of every
pixel outside the acquisition area to ``NaN`` in the Data datasets. ``Spectrum`` is int32 and
cannot hold NaN, so the reader finds the scanned area from the float datasets: a pixel is
*valid* when its ``Live Time`` is finite (or, without ``Live Time``, when its first element map
is finite). :func:`read_h5oina` then always stores ``metadata['valid_mask']`` (``(H, W)`` bool,
True = scanned) and, by default (``out_of_scan='nan'``), returns a **float32** cube with NaN on
every channel of the pixels outside the scan. If every pixel was scanned the cube keeps the
int32 dtype of the file. ``out_of_scan='zero'`` keeps the integer dtype and puts 0 counts there.
Element maps (``kind='maps'``) are float and keep the NaN of the file.
"""


from __future__ import annotations

from ._contents import list_h5oina_contents
from ._read import read_h5oina
from ._write import write_h5oina

__all__ = ["list_h5oina_contents", "read_h5oina", "write_h5oina"]
