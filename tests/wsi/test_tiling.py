"""Tile planning and the stitching rule, on small hand-made label images."""

from __future__ import annotations

import numpy as np
import pytest

from nucbench.errors import InputError
from nucbench.slide_segment import SlideTile, is_slide_path, parse_region, plan_tiles, select_whole_objects


def test_plan_tiles_cores_partition_the_region():
    # 10×7 region at (5, 3), stride 4, overlap 1: columns 0..3 | 4..7 | 8..9, rows 0..3 | 4..6.
    tiles = plan_tiles((5, 3, 10, 7), tile_size=4, overlap=1, downsample=1.0)
    assert [(t.col, t.row) for t in tiles] == [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)]
    cover = np.zeros((7, 10), int)
    for t in tiles:
        x0, y0, x1, y1 = t.core
        cover[y0:y1, x0:x1] += 1
    assert (cover == 1).all()
    middle = tiles[4]
    # Tile (1, 1): cell x 4..8, y 4..7 (clipped), extended by 1 on its inner sides: x 3..9, y 3..7.
    assert (middle.gx, middle.gy, middle.w, middle.h) == (3, 3, 6, 4)
    assert (middle.x, middle.y) == (5 + 3, 3 + 3)
    assert middle.inner == (True, True, True, False)


def test_plan_tiles_at_half_resolution():
    # 16×8 level-0 region read at downsample 2: an 8×4 grid, stride 4 → two tiles; level-0 x 0, 8.
    tiles = plan_tiles((0, 0, 16, 8), tile_size=4, overlap=0, downsample=2.0)
    assert [(t.x, t.y, t.w, t.h) for t in tiles] == [(0, 0, 4, 4), (8, 0, 4, 4)]


def _tile(w=8, h=8, core=(0, 0, 5, 8), inner=(False, False, True, False)):
    return SlideTile(0, 0, 0, 0, w, h, 0, 0, core, inner)


def test_object_touching_inner_side_is_not_kept():
    labels = np.zeros((8, 8), int)
    labels[2:4, 1:3] = 1          # whole, centroid x 2.5 in the core (0..5): kept
    labels[5:7, 6:8] = 2          # touches the right side (inner): cut, and centroid x 7.5 not in core
    labels[0:2, 0:2] = 3          # touches top/left, which are the region's edge: kept
    keep, n_too_large = select_whole_objects(labels, _tile())
    assert keep.tolist() == [1, 3]
    assert n_too_large == 0


def test_centroid_decides_between_tiles():
    # A 2×2 object in columns 4..5: centroid x = 5.0 (pixel centres 4.5, 5.5) is outside the
    # core [0, 5), so this tile leaves it to its right neighbour; shifted one column left
    # (columns 3..4, centroid 4.0) it is kept here.
    labels = np.zeros((8, 8), int)
    labels[3:5, 4:6] = 1
    assert select_whole_objects(labels, _tile())[0].tolist() == []
    labels = np.roll(labels, -1, axis=1)
    assert select_whole_objects(labels, _tile())[0].tolist() == [1]


def test_object_larger_than_the_overlap_is_counted():
    labels = np.zeros((8, 8), int)
    labels[2:5, 1:8] = 4          # centroid x 4.5 in the core, but it reaches the inner right side
    keep, n_too_large = select_whole_objects(labels, _tile())
    assert keep.tolist() == [] and n_too_large == 1


def test_each_object_kept_by_exactly_one_tile():
    # Disks of radius ≤ 3 (diameter ≤ 7 < overlap 8) anywhere on a 40×30 image, tiled with stride
    # 10: every disk is kept by exactly one tile.
    rng = np.random.default_rng(0)
    rows, cols = np.indices((30, 40))
    image_labels = np.zeros((30, 40), int)
    for i in range(1, 13):
        cy, cx = rng.uniform(0, 30), rng.uniform(0, 40)
        disk = (rows + 0.5 - cy) ** 2 + (cols + 0.5 - cx) ** 2 <= 9
        image_labels[disk & (image_labels == 0)] = i
    present = set(np.unique(image_labels)) - {0}
    kept = []
    for tile in plan_tiles((0, 0, 40, 30), tile_size=10, overlap=8, downsample=1.0):
        crop = image_labels[tile.gy:tile.gy + tile.h, tile.gx:tile.gx + tile.w]
        kept += select_whole_objects(crop, tile)[0].tolist()
    assert sorted(kept) == sorted(present)


def test_is_slide_path(tmp_path):
    from PIL import Image

    plain = tmp_path / "plain.tif"
    Image.new("RGB", (8, 8)).save(plain)  # a strip TIFF, not a pyramid
    assert not is_slide_path(plain)
    assert is_slide_path(tmp_path / "missing.svs")
    assert not is_slide_path(tmp_path / "image.png")


def test_is_slide_path_pyramid(synthetic_slide):
    assert is_slide_path(synthetic_slide.path)


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "0,0,0,5", "1,2,3,4,5"])
def test_parse_region_errors(text):
    with pytest.raises(InputError, match="--region"):
        parse_region(text)
