"""The faster building blocks of ``watershed`` give exactly what the library calls they replace gave."""

from __future__ import annotations

import numpy as np
import pytest
from nucbench_postprocess._common import (
    binary_closing_disk,
    binary_opening_disk,
    component_markers,
    disk_peaks,
)
from nucbench_postprocess.watershed import watershed
from scipy import ndimage as ndi
from skimage.morphology import closing, disk, opening
from skimage.segmentation import watershed as skimage_watershed


def random_masks(seed: int, n: int = 6, shape=(31, 43)):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield ndi.gaussian_filter(rng.random(shape), 1.0) > 0.5  # blobs, many touching the border


def test_opening_by_hand():
    mask = np.zeros((5, 7), bool)
    mask[1:4, 1:4] = True  # a 3×3 square ...
    mask[2, 5] = True  # ... and a lone pixel
    # disk(1) is the 3×3 cross: erosion keeps only the square's centre, dilation grows it back
    # into a cross; the lone pixel goes
    expected = np.zeros((5, 7), bool)
    expected[1:4, 2] = expected[2, 1:4] = True
    np.testing.assert_array_equal(binary_opening_disk(mask, 1), expected)


@pytest.mark.parametrize("radius", [1, 2, 3, 5])
def test_opening_and_closing_equal_skimage(radius):
    for mask in random_masks(radius):
        np.testing.assert_array_equal(binary_opening_disk(mask, radius), opening(mask, disk(radius)))
        np.testing.assert_array_equal(binary_closing_disk(mask, radius), closing(mask, disk(radius)))


def test_component_markers_lie_on_each_components_maximum():
    rng = np.random.default_rng(0)
    image = np.round(ndi.gaussian_filter(rng.random((40, 40)), 2.0), 2)  # rounding makes ties
    components, n = ndi.label(image > np.median(image))
    which = np.arange(1, n + 1)
    rows, cols = component_markers(image, components, which)
    np.testing.assert_array_equal(components[rows, cols], which)
    np.testing.assert_array_equal(image[rows, cols], ndi.maximum(image, components, which))


def _reference_watershed(probability, threshold=0.5, open_radius=2, close_radius=1, sigma=1.0,
                         peak_radius=7):
    """The implementation before the speed-up: skimage morphology and ``ndi.maximum_position``."""
    mask = probability > threshold
    mask = opening(mask, disk(open_radius)) if open_radius else mask
    mask = closing(mask, disk(close_radius)) if close_radius else mask
    if not mask.any():
        return np.zeros(mask.shape, np.int32)
    distance = ndi.gaussian_filter(ndi.distance_transform_edt(mask), sigma) if sigma else \
        ndi.distance_transform_edt(mask)
    peaks = disk_peaks(distance, peak_radius, mask)
    markers, n_markers = ndi.label(peaks, structure=np.ones((3, 3), bool))
    components, n_components = ndi.label(mask)
    marked = np.zeros(n_components + 1, bool)
    marked[components[peaks]] = True
    unmarked = np.flatnonzero(~marked[1:]) + 1
    if unmarked.size:
        rows, cols = np.array(ndi.maximum_position(distance, components, unmarked)).reshape(-1, 2).T
        markers[rows, cols] = n_markers + 1 + np.arange(unmarked.size)
    labels = skimage_watershed(-distance, markers, mask=mask).astype(np.int32)
    areas = np.bincount(labels.ravel())
    lut = np.zeros(areas.size, np.int32)
    keep = areas > 0
    keep[0] = False
    lut[keep] = np.arange(1, keep.sum() + 1)
    return lut[labels]


@pytest.mark.parametrize("options", [
    {},
    {"threshold": 0.3, "sigma": 2.0, "peak_radius": 4},
    {"threshold": 0.6, "open_radius": 0, "close_radius": 2, "sigma": 0.0},
])
def test_watershed_equals_the_reference_implementation(options):
    rng = np.random.default_rng(7)
    for _ in range(4):
        probability = np.clip(ndi.gaussian_filter(rng.random((60, 64)), 2.5) * 4 - 1.5, 0, 1)
        labels = watershed(probability, **options)
        assert labels.dtype == np.int32
        np.testing.assert_array_equal(labels, _reference_watershed(probability, **options))
