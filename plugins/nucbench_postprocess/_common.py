"""Validation and small helpers shared by the post-processors."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from nucbench import InputError

__all__ = ["check_probability", "remove_small", "disk_peaks"]


def check_probability(probability: np.ndarray) -> np.ndarray:
    """Validate a probability map: 2-D, float (or bool), finite; returned as float.

    Raises
    ------
    InputError
        Naming what was seen: wrong dimensions, an integer dtype (e.g. an 8-bit image, which
        would need scaling to [0, 1]), or NaN / infinite values.
    """
    array = np.asarray(probability)
    if array.ndim != 2:
        raise InputError(f"`probability` has shape {array.shape}; expected a 2-D map (H×W)")
    if array.dtype == bool:
        return array.astype(np.float32)
    if not np.issubdtype(array.dtype, np.floating):
        raise InputError(
            f"`probability` has dtype {array.dtype}; expected floats in [0, 1] "
            "(scale an 8-bit map by 1/255 first)"
        )
    if not np.isfinite(array).all():
        raise InputError("`probability` has NaN or infinite values")
    return array


def remove_small(labels: np.ndarray, min_size: int) -> np.ndarray:
    """Set objects of fewer than `min_size` pixels to 0 and renumber the rest 1..n (raster order)."""
    if labels.max(initial=0) == 0:
        return labels
    areas = np.bincount(labels.ravel())
    keep = areas >= max(min_size, 1)
    keep[0] = False
    lut = np.zeros(areas.size, dtype=np.int32)
    lut[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    return lut[labels]


def disk_peaks(image: np.ndarray, radius: int, mask: np.ndarray) -> np.ndarray:
    """Pixels of `mask` that are the maximum of `image` within ``disk(radius)`` around them.

    Exactly ``(image == ndi.maximum_filter(image, footprint=disk(radius))) & mask`` with pixels
    outside the image ignored, but only the 3×3 local maxima (a superset, since ``disk(r)`` for
    ``r ≥ 2`` holds the 3×3 neighbourhood) are compared with their whole disk.
    """
    from skimage.morphology import disk

    footprint = disk(max(int(radius), 0))
    if radius < 2:
        padded = np.pad(image, radius, constant_values=-np.inf)
        best = ndi.maximum_filter(padded, footprint=footprint)[radius:radius + image.shape[0],
                                                               radius:radius + image.shape[1]]
        return (image == best) & mask
    candidates = (image == ndi.maximum_filter(image, size=3, mode="nearest")) & mask
    rows, cols = np.nonzero(candidates)
    padded = np.pad(image, radius, constant_values=-np.inf)
    dy, dx = np.nonzero(footprint)
    best = np.full(rows.size, -np.inf)
    for offset_row, offset_col in zip(dy, dx, strict=True):  # ~ (2r+1)² small gathers
        np.maximum(best, padded[rows + offset_row, cols + offset_col], out=best)
    peaks = np.zeros(image.shape, dtype=bool)
    keep = image[rows, cols] >= best
    peaks[rows[keep], cols[keep]] = True
    return peaks
