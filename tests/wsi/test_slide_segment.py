"""segment_slide end to end on a synthetic pyramidal slide with known nuclei."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import openslide
import pytest
import shapely
from shapely.geometry import Point, shape

from nucbench.errors import InputError, NucbenchError, UnknownNameError
from nucbench.slide_segment import segment_slide

from .conftest import PURPLE, WIDTH

SEGMENTER = "test-dark-threshold"
TILING = {"tile_size": 128, "overlap": 24, "progress": False}


def _run(slide, out, **kw):
    from .conftest import PLUGIN_FILE

    return segment_slide(slide.path, kw.pop("segmenter", SEGMENTER), out, plugins=[PLUGIN_FILE],
                         **{**TILING, **kw})


def _polygons(path):
    return [shape(f["geometry"]) for f in json.loads(path.read_text(encoding="utf-8"))["features"]]


def _pixel_count(cx, cy, r):
    """Pixels of a drawn disk (centre within r), as conftest.draw_nuclei draws it."""
    rows, cols = np.indices((64, 64))
    ox, oy = int(cx) - 32, int(cy) - 32
    return int((((cols + ox + 0.5 - cx) ** 2 + (rows + oy + 0.5 - cy) ** 2) <= r * r).sum())


@pytest.fixture(scope="module")
def full_run(synthetic_slide, tmp_path_factory):
    return _run(synthetic_slide, tmp_path_factory.mktemp("full"))


def test_every_nucleus_once_at_its_place(synthetic_slide, full_run):
    nuclei = synthetic_slide.nuclei
    polygons = _polygons(full_run.geojson)
    assert full_run.n_nuclei == len(polygons) == len(nuclei) == 14
    assert full_run.n_too_large == 0
    assert all(p.is_valid for p in polygons)
    # No duplicates: no two polygons overlap.
    tree = shapely.STRtree(polygons)
    pairs = tree.query(polygons, predicate="intersects")
    assert all(i == j for i, j in pairs.T)
    for cx, cy, r in nuclei:
        inside = min(max(cx, 2), WIDTH - 2)   # a point inside the part of the disk on the slide
        hits = [p for p in polygons if p.contains(Point(inside, cy))]
        assert len(hits) == 1, (cx, cy)
        if r < cx < WIDTH - r:               # whole on the slide: centred on the drawn disk
            assert hits[0].centroid.distance(Point(cx, cy)) < 0.5
            # Polygon area: pixel count minus the cut corners (≤ 1 px² per boundary step).
            assert abs(hits[0].area - _pixel_count(cx, cy, r)) < 2 * math.pi * r * 0.5


def test_csv_measurements_and_read_back(synthetic_slide, full_run):
    with open(full_run.csv, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 14 and [int(r["id"]) for r in rows] == list(range(1, 15))
    slide = openslide.OpenSlide(str(synthetic_slide.path))
    areas = {}
    for row in rows:
        x, y = float(row["centroid_x"]), float(row["centroid_y"])
        # The centroid, read back from the slide at level 0, is on a nucleus (purple).
        pixel = slide.read_region((int(x), int(y)), 0, (1, 1)).convert("RGB").getpixel((0, 0))
        assert pixel == PURPLE
        areas[(round(x), round(y))] = float(row["area_um2"])
    # Area in µm² is the pixel count × mpp² (0.25² = 0.0625): the disk r=10 at (256, 128).
    assert areas[(256, 128)] == pytest.approx(_pixel_count(256.0, 128.0, 10) * 0.0625, rel=1e-5)


def test_overlay_png(full_run):
    from PIL import Image

    with Image.open(full_run.overlay) as im:
        assert im.size == (640, 448)          # the region is smaller than 2048: full scale
        picture = np.asarray(im.convert("RGB"))
    assert (picture == (0, 255, 64)).all(axis=2).sum() > 100   # outlines drawn


def test_region_keeps_level0_coordinates(synthetic_slide, full_run, tmp_path):
    # Region x 95..495, y 20..420 holds 8 of the disks whole and cuts none.
    result = _run(synthetic_slide, tmp_path, region=(95, 20, 400, 400))
    assert result.n_nuclei == 8
    full = {tuple(np.round(p.centroid.coords[0], 2)) for p in _polygons(full_run.geojson)}
    part = {tuple(np.round(p.centroid.coords[0], 2)) for p in _polygons(result.geojson)}
    assert part <= full


def test_lower_magnification(synthetic_slide, tmp_path):
    # At 20x the 40x slide is read from its 2× level; tiles of 64 px cover 128 level-0 px.
    result = _run(synthetic_slide, tmp_path, magnification=20, tile_size=64, overlap=12)
    assert result.mpp == pytest.approx(0.5)
    polygons = _polygons(result.geojson)
    assert len(polygons) == 14
    for cx, cy, _ in synthetic_slide.nuclei[:12]:
        assert sum(p.contains(Point(cx, cy)) for p in polygons) == 1


def test_resume_recomputes_only_missing_tiles(synthetic_slide, full_run, tmp_path):
    first = _run(synthetic_slide, tmp_path)
    text = first.geojson.read_text()
    tiles = sorted(first.work_dir.glob("*.npz"))
    assert len(tiles) == first.n_tissue_tiles == 20      # 5 × 4 tiles of 128 px, all pink tissue
    tiles[3].unlink()
    first.geojson.unlink()
    again = _run(synthetic_slide, tmp_path)
    assert again.n_computed == 1
    assert again.geojson.read_text() == text


def test_other_settings_need_overwrite(synthetic_slide, tmp_path):
    _run(synthetic_slide, tmp_path)
    with pytest.raises(InputError, match=r"other settings \(differs in: overlap\).*--overwrite"):
        _run(synthetic_slide, tmp_path, overlap=30)
    assert _run(synthetic_slide, tmp_path, overlap=30, overwrite=True).n_nuclei == 14


def test_failing_tiles_leave_no_output(synthetic_slide, tmp_path):
    message = "20 of 20 tiles failed.*RuntimeError: test segmenter asked to fail"
    with pytest.raises(NucbenchError, match=message):
        _run(synthetic_slide, tmp_path, params={"fail": True})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synthetic.tiles"]
    assert "Traceback" in (tmp_path / "synthetic.tiles" / "errors.txt").read_text()


def test_missing_slide(tmp_path):
    with pytest.raises(InputError, match="missing.svs: no such file"):
        segment_slide(tmp_path / "missing.svs", "otsu", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_not_a_slide(tmp_path):
    from PIL import Image

    text = tmp_path / "notes.svs"
    text.write_text("not a slide")
    plain = tmp_path / "plain.tif"
    Image.new("RGB", (32, 32)).save(plain)
    for path in (text, plain):
        with pytest.raises(InputError, match=f"{path.name}: unsupported slide format"):
            segment_slide(path, "otsu", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("region", [(600, 400, 100, 100), (-1, 0, 10, 10), (0, 0, 641, 10)])
def test_region_outside_slide(synthetic_slide, tmp_path, region):
    with pytest.raises(InputError, match=r"is outside the slide, which is 640×448 level-0 pixels"):
        _run(synthetic_slide, tmp_path / "out", region=region)
    assert not (tmp_path / "out").exists()


def test_bad_magnification_and_segmenter(synthetic_slide, tmp_path):
    with pytest.raises(InputError, match="cannot read at 80x"):
        _run(synthetic_slide, tmp_path / "out", magnification=80)
    with pytest.raises(UnknownNameError, match="test-dark-treshold"):
        _run(synthetic_slide, tmp_path / "out", segmenter="test-dark-treshold")
    assert not (tmp_path / "out").exists()


def test_dask_executor_gives_the_same_nuclei(synthetic_slide, full_run, tmp_path):
    # A real LocalCluster with one worker process: the worker loads the plugin file and builds
    # the segmenter itself.
    result = _run(synthetic_slide, tmp_path, executor="dask", executor_params={"n_workers": 1})
    assert result.geojson.read_text() == full_run.geojson.read_text()
