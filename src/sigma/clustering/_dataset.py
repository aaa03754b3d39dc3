"""What a PixelSegmenter needs from its dataset: the clustering grid's shape."""

from __future__ import annotations

from sigma._errors import bad_value


def nav_shape(dataset) -> tuple[int, int, int]:
    """``(H, W, F)`` of ``dataset.normalised_elemental_data``, or an error saying what to run."""
    data = getattr(dataset, "normalised_elemental_data", None)
    shape = getattr(data, "shape", None)
    if shape is None or len(shape) != 3:
        raise bad_value(
            "dataset",
            type(dataset).__name__,
            "a dataset with normalised_elemental_data of shape (H, W, F) "
            "(run dataset.normalisation(...) first)",
        )
    return int(shape[0]), int(shape[1]), int(shape[2])

