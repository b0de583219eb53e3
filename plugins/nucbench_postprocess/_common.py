"""Validation and small helpers shared by the post-processors."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from nucbench import InputError

__all__ = ["check_probability", "remove_small", "disk_peaks", "binary_opening_disk", "binary_closing_disk",
           "component_markers"]


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
    if keep[1:].all():  # already numbered 1..n and nothing removed: the renumbering is the identity
        return labels.astype(np.int32, copy=False)
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


def _disk_morphology(mask: np.ndarray, radius: int, erode: bool) -> np.ndarray:
    """Binary erosion (`erode`) or dilation of `mask` by ``disk(radius)``, pixels outside ignored.

    ``disk(r)`` is a stack of centred horizontal runs, so the result is the AND (erosion) or OR
    (dilation) over its rows of the image shifted vertically, each after a 1-D erosion/dilation
    by that row's run, built incrementally: about ``3 r`` whole-image boolean operations
    instead of a ``(2r+1)²`` minimum/maximum filter.
    """
    from skimage.morphology import disk

    footprint = disk(radius).astype(bool)
    half_widths = footprint.sum(axis=1) // 2
    op = np.logical_and if erode else np.logical_or
    height, width = mask.shape
    padded = np.pad(mask, radius, constant_values=erode)  # outside: neutral for the operation
    runs = [padded[:, radius:radius + width]]
    for w in range(1, radius + 1):
        runs.append(op(op(runs[-1], padded[:, radius - w:radius - w + width]),
                       padded[:, radius + w:radius + w + width]))
    out = runs[half_widths[0]][0:height].copy()
    for dy in range(1, 2 * radius + 1):
        op(out, runs[half_widths[dy]][dy:dy + height], out=out)
    return out


def binary_opening_disk(mask: np.ndarray, radius: int) -> np.ndarray:
    """Opening of a boolean mask by ``disk(radius)``, ignoring pixels outside the image.

    Equal to ``skimage.morphology.opening(mask, disk(radius))`` (whose default ``reflect``
    border gives the same result for a disk), computed with row runs (:func:`_disk_morphology`).

    Examples
    --------
    >>> mask = np.zeros((5, 7), bool); mask[1:4, 1:4] = True; mask[2, 5] = True
    >>> binary_opening_disk(mask, 1).astype(int).tolist()[2]
    [0, 1, 1, 1, 0, 0, 0]
    """
    return _disk_morphology(_disk_morphology(mask, radius, True), radius, False)


def binary_closing_disk(mask: np.ndarray, radius: int) -> np.ndarray:
    """Closing of a boolean mask by ``disk(radius)``, ignoring pixels outside the image.

    Equal to ``skimage.morphology.closing(mask, disk(radius))``; see :func:`binary_opening_disk`.
    """
    return _disk_morphology(_disk_morphology(mask, radius, False), radius, True)


def component_markers(
    image: np.ndarray, components: np.ndarray, which: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of the maximum of `image` in each component numbered in `which`.

    Like ``ndi.maximum_position(image, components, which)`` but only the pixels of those
    components are sorted (not the whole image); among equal maxima the first in raster order is
    taken (``maximum_position`` takes an arbitrary one). Every label of `which` must occur.
    """
    selected = np.zeros(int(components.max()) + 1, dtype=bool)
    selected[which] = True
    flat = np.flatnonzero(selected[components.ravel()])
    labels, values = components.ravel()[flat], image.ravel()[flat]
    order = np.lexsort((flat, -values, labels))  # by label, then highest value, then raster order
    first = order[np.r_[True, labels[order][1:] != labels[order][:-1]]]
    lookup = np.empty(selected.size, dtype=np.intp)
    lookup[labels[first]] = flat[first]
    return np.unravel_index(lookup[np.asarray(which)], components.shape)
