"""Post-processors: the same contract for every registered one, then each one's own behaviour."""

from __future__ import annotations

import numpy as np
import pytest
from nucbench_postprocess._common import disk_peaks
from nucbench_postprocess.threshold import threshold_cc
from nucbench_postprocess.watershed import watershed
from scipy import ndimage as ndi
from skimage.morphology import disk

from nucbench import InputError
from nucbench.plugins import PluginManager

POST_PROCESSORS = PluginManager().registries.post_processor.names()


def disks(shape, *centres_radii):
    rows, cols = np.indices(shape)
    out = np.zeros(shape)
    for (r, c), radius in centres_radii:
        out[(rows - r) ** 2 + (cols - c) ** 2 <= radius ** 2] = 1.0
    return out


@pytest.fixture(params=POST_PROCESSORS)
def post_processor(request, full_manager):
    return full_manager.create("post-processor", request.param)


def test_builtins_are_registered():
    assert {"watershed", "threshold-cc"} <= set(POST_PROCESSORS)


def test_output_is_int_labels_of_the_input_shape(post_processor):
    prob = np.random.default_rng(0).random((33, 47))
    labels = post_processor(prob)
    assert labels.shape == (33, 47) and np.issubdtype(labels.dtype, np.integer)
    assert labels.min() >= 0


def test_empty_map_gives_no_object(post_processor):
    assert not post_processor(np.zeros((20, 30))).any()


def test_one_disk_gives_one_object(post_processor):
    prob = 0.9 * disks((40, 40), ((20, 18), 8))
    labels = post_processor(prob)
    assert np.unique(labels).tolist() == [0, 1]
    assert (labels > 0).sum() == pytest.approx((prob > 0.5).sum(), rel=0.1)


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((2, 4, 4)),
                                 np.full((4, 4), np.nan)], ids=["uint8", "3-D", "nan"])
def test_bad_maps_are_input_errors(post_processor, bad):
    with pytest.raises(InputError, match="`probability`"):
        post_processor(bad)


def test_watershed_splits_two_touching_disks_that_threshold_cc_merges():
    # Centres 16 apart, radius 9: the disks overlap in a neck a few pixels wide.
    prob = disks((40, 60), ((20, 20), 9), ((20, 36), 9))
    assert threshold_cc(prob).max() == 1
    labels = watershed(prob)
    assert labels.max() == 2
    assert labels[20, 20] != labels[20, 36]


def test_watershed_options_change_the_result():
    # Touching disks of radius 9 and 8 (centres 16 apart) and a lone radius-2 disk (13 px).
    prob = disks((40, 60), ((20, 20), 9), ((20, 36), 8), ((5, 55), 2))
    assert watershed(prob).max() == 3
    assert watershed(prob, min_size=30).max() == 2     # the 13-px disk is dropped
    assert watershed(prob, open_radius=3).max() == 2   # an opening with r=3 erases it
    assert watershed(prob, peak_radius=20).max() == 2  # radius-8 disk's peak is dominated: merged
    assert watershed(prob, threshold=1.0).max() == 0


def test_watershed_keeps_a_component_whose_maxima_are_dominated():
    # A small blob 4 px from a big one: within peak_radius of a higher distance value, it has no
    # local maximum of its own, yet it must still become an object.
    prob = disks((40, 60), ((20, 20), 12), ((20, 38), 2))
    labels = watershed(prob, open_radius=0, close_radius=0)
    assert labels.max() == 2 and labels[20, 38] > 0


def test_threshold_cc_connectivity_and_min_size():
    prob = np.array([[1.0, 0, 0, 0],
                     [0, 1, 0, 1],
                     [0, 0, 0, 1]])
    assert threshold_cc(prob).max() == 3                # 4-connected: the diagonal pair splits
    assert threshold_cc(prob, connectivity=2).max() == 2
    assert threshold_cc(prob, min_size=2).tolist() == [[0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 1]]


@pytest.mark.parametrize("radius", [1, 2, 7])
def test_disk_peaks_equal_the_maximum_filter(radius):
    rng = np.random.default_rng(radius)
    image = ndi.gaussian_filter(rng.random((50, 40)), 1.5)
    image[:4, :4] = image.max()  # a plateau touching the border
    mask = rng.random(image.shape) < 0.8
    expected = (image == ndi.maximum_filter(image, footprint=disk(radius), mode="constant",
                                            cval=-np.inf)) & mask
    np.testing.assert_array_equal(disk_peaks(image, radius, mask), expected)


def test_params_are_validated_by_the_registry(full_manager):
    from nucbench import ConfigError

    with pytest.raises(ConfigError, match="Did you mean 'threshold'"):
        full_manager.create("post-processor", "watershed", treshold=0.3)
    fn = full_manager.create("post-processor", "watershed", threshold="0.3")  # YAML-ish string
    assert fn.keywords == {"threshold": 0.3}
