"""The steps of the Fiji recipe beyond threshold + watershed, each on a small synthetic input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from nucbench_classic.background import subtract_background
from nucbench_classic.objects import binary_open, circularity, h_maxima_markers, perimeter

from .conftest import disks_image

#: Every optional step off, so that each test switches on exactly the one it is about.
PLAIN = {"sigma": 0.0, "threshold_method": "default", "min_od": 0.1, "size_min": 0.0, "size_max": math.inf,
         "watershed": False, "background_radius": 0.0, "open_iterations": 0, "circularity_min": 0.0}


def fiji(manager, **params):
    return manager.create("segmenter", "fiji-style", **(PLAIN | params))


def test_binary_open_counts_like_imagej():
    square = np.zeros((9, 9), bool)
    square[2:7, 2:7] = True  # 5×5
    # count 1: erode removes the whole border ring (5×5 → 3×3), dilate grows it back → 25 px
    assert binary_open(square, 1, 1).sum() == 25
    # count 4: an edge pixel has 3 background neighbours (kept), a corner 5 (removed) → 21 px;
    # a removed corner then has only 3 foreground neighbours (< 4), so the dilation does not
    # restore it, and no outside pixel has 4 → 25 − 4 = 21
    assert binary_open(square, 1, 4).sum() == 21
    # two iterations with count 1: 5×5 → 3×3 → 1×1 → 3×3 → 5×5
    assert binary_open(square, 2, 1).sum() == 25
    # three: eroded away entirely, nothing to dilate back
    assert binary_open(square, 3, 1).sum() == 0
    with pytest.raises(ValueError, match="count"):
        binary_open(square, 1, 9)


def test_open_cuts_a_one_pixel_bridge(full_manager):
    # two disks of radius 7, centres 28 px apart (edges 14 px apart), joined by a 1-px line:
    # one particle; Open (erode 1 px, dilate 1 px) removes the line → two particles
    image = disks_image([(32, 18), (32, 46)], 7.0)
    image[32, 18:47] = (70, 40, 130)
    assert fiji(full_manager).segment(image).max() == 1
    assert fiji(full_manager, open_iterations=1).segment(image).max() == 2


def test_perimeter_and_circularity_by_hand():
    lab = np.zeros((7, 34), int)
    lab[2:5, 2:32] = 1  # a 3×30 bar
    # outline: 2·29 straight steps along the long sides + 2·2 along the short ones + 4 cut
    # corners of √2/2 = 58 + 4 + 2.83 = 64.83; circularity 4π·90 / 64.83² = 1130.97 / 4202.9
    assert perimeter(lab)[1] == pytest.approx(62 + 4 * math.sqrt(0.5))
    assert circularity(lab)[1] == pytest.approx(4 * math.pi * 90 / (62 + 2 * math.sqrt(2)) ** 2)
    assert circularity(lab)[1] == pytest.approx(0.269, abs=1e-3)
    one = np.zeros((3, 3), int)
    one[1, 1] = 1  # a single pixel: 4 corners, perimeter 2√2, 4π / 8 = 1.57 → capped at 1
    assert perimeter(one)[1] == pytest.approx(2 * math.sqrt(2))
    assert circularity(one)[1] == 1.0


def test_circularity_range_drops_a_bar(full_manager):
    # a disk of radius 7 (circularity ≈ 0.9) and a 3×30 bar (0.269, see above)
    image = disks_image([(16, 32)], 7.0)
    image[44:47, 17:47] = (70, 40, 130)
    assert fiji(full_manager).segment(image).max() == 2
    labels = fiji(full_manager, circularity_min=0.5).segment(image)
    assert labels.max() == 1 and labels[16, 32] > 0 and labels[45, 30] == 0
    with pytest.raises(ValueError, match="circularity"):
        fiji(full_manager, circularity_min=0.8, circularity_max=0.5)


def test_watershed_tolerance_and_edm_smoothing(full_manager):
    # two disks of radius 10 (pixels closer than 10 to a centre), centres 14 px apart. The
    # distance map is 10 at each centre (nearest background pixel 10 px away) and 8 at the neck
    # midpoint (32, 32): the column there is foreground for |row − 32| < sqrt(10² − 7²) = 7.1,
    # so the nearest background pixel is 8 rows away. The dip is 10 − 8 = 2 px.
    image = disks_image([(32, 25), (32, 39)], 10.0)
    split = {"watershed": True, "watershed_tolerance": 0.5}
    assert fiji(full_manager, **split).segment(image).max() == 2  # dip 2 > 0.5
    assert fiji(full_manager, watershed=True, watershed_tolerance=1.5).segment(image).max() == 2  # 2 > 1.5
    assert fiji(full_manager, watershed=True, watershed_tolerance=2.5).segment(image).max() == 1  # 2 < 2.5
    # a Gaussian of σ = 8 on the map spreads the two peaks over the 14 px between them, so the
    # dip falls below the 0.5 tolerance and the blob stays whole; σ = 1 keeps the split
    assert fiji(full_manager, **split, edm_sigma=1.0).segment(image).max() == 2
    assert fiji(full_manager, **split, edm_sigma=8.0).segment(image).max() == 1


def test_equal_peaks_within_the_tolerance_give_one_marker():
    # two equal peaks of 5 with a valley of 4.6 between them (0.4 deep): with h = 0.5 they are
    # one maximum (as ImageJ's MaximumFinder), with h = 0.3 two
    surface = np.zeros((5, 9))
    surface[2, 1:8] = [1.0, 5.0, 4.8, 4.6, 4.8, 5.0, 1.0]
    assert h_maxima_markers(surface, 0.5).max() == 1
    assert h_maxima_markers(surface, 0.3).max() == 2


def test_h_maxima_markers_keep_every_particle():
    # a 2-px-wide line (distance map 1 everywhere) next to a disk: with a tolerance of 3 the
    # line has no maximum 3 above its surroundings, but it still gets one marker
    surface = np.zeros((20, 30))
    surface[2:4, 2:12] = 1.0
    yy, xx = np.indices(surface.shape)
    surface = np.maximum(surface, np.clip(6 - np.hypot(yy - 12, xx - 20), 0, None))
    markers = h_maxima_markers(surface, 3.0)
    assert markers.max() == 2
    assert markers[2:4, 2:12].any() and markers[12, 20] > 0


def test_subtract_background_flattens_a_ramp():
    # background ramping 150 → 213 grey levels across 64 columns (1 level / px, far flatter than
    # a ball of radius 25 is round) with a 6×6 object 60 levels darker than its surroundings:
    # the field becomes white (255), the object 255 − 60 = 195, wherever it sits on the ramp
    # the ball (radius 25, shrunk 2×, its patch trimmed to ±10 shrunk px as ImageJ) cannot reach
    # into the ridge the left image edge makes on the inverted ramp: columns < 20 are excluded
    cols = np.arange(64)
    ramp = np.tile(150 + cols, (64, 1)).astype(np.uint8)
    image = ramp.copy()
    image[20:26, 26:32] -= 60
    image[40:46, 50:56] -= 60
    out = subtract_background(image, 25)
    assert np.abs(out[0:10, 20:].astype(int) - 255).max() <= 2
    assert abs(int(out[22, 28]) - 195) <= 2 and abs(int(out[42, 52]) - 195) <= 2


@pytest.mark.parametrize("step", [{"background_radius": 25.0},
                                  {"stain_output": "absorbance", "threshold_method": "otsu"},
                                  {"local_method": "mean", "local_radius": 15.0},
                                  {"open_iterations": 1, "open_count": 1}, {"edm_sigma": 1.0},
                                  {"circularity_min": 0.5}])
def test_each_step_keeps_four_separate_disks(full_manager, four_disks, step):
    labels = fiji(full_manager, **step).segment(four_disks)
    assert labels.max() == 4
    for r, c in [(16, 16), (16, 48), (48, 16), (48, 48)]:
        assert labels[r, c] > 0


def test_size_max_infinity_through_the_registry(full_manager):
    # a disk of radius 28: area ≈ π·28² ≈ 2463 px² > the tuned size_max 2000 → dropped by
    # default; size_max = inf (Fiji's "Infinity") keeps it. None would mean "the default".
    image = disks_image([(32, 32)], 28.0)
    assert full_manager.create("segmenter", "fiji-style", size_min=0.0).segment(image).max() == 0
    kept = full_manager.create("segmenter", "fiji-style", size_min=0.0, size_max=math.inf).segment(image)
    assert kept.max() == 1
