"""The two real Aperio slides in ../shared/data/wsi, and a MoNuSeg tile segmented as a slide."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from shapely.geometry import shape

from nucbench.errors import InputError
from nucbench.slide_segment import segment_slide

from .conftest import PLUGIN_FILE, write_pyramid


def _features(path):
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def test_cmu_small_region_geojson_is_valid(wsi_root, tmp_path):
    # The whole CMU-1-Small-Region slide (2220×2967 at 20x, 0.499 µm/px) with the fast test
    # segmenter (objects of at least 30 px, 7.5 µm²): every polygon loads with shapely, is valid
    # and lies on the slide.
    result = segment_slide(wsi_root / "CMU-1-Small-Region.svs", "test-dark-threshold", tmp_path,
                           params={"min_size": 30}, plugins=[PLUGIN_FILE], progress=False)
    assert result.magnification == 20 and result.mpp == pytest.approx(0.499)
    features = _features(result.geojson)
    assert len(features) == result.n_nuclei > 1000
    polygons = [shape(f["geometry"]) for f in features]
    assert all(p.is_valid and p.geom_type == "Polygon" for p in polygons)
    xs = np.concatenate([np.asarray(p.exterior.coords)[:, 0] for p in polygons])
    ys = np.concatenate([np.asarray(p.exterior.coords)[:, 1] for p in polygons])
    assert xs.min() >= 0 and xs.max() <= 2220 and ys.min() >= 0 and ys.max() <= 2967
    props = features[0]["properties"]
    assert props["objectType"] == "detection" and props["classification"]["name"] == "Nucleus"
    assert set(props["measurements"]) >= {"Area µm^2", "Perimeter µm", "Eccentricity", "Hematoxylin OD mean"}
    with open(result.csv, newline="") as f:
        assert sum(1 for _ in csv.DictReader(f)) == result.n_nuclei


def test_tcga_slide_without_mpp_needs_mpp(wsi_root, tmp_path):
    slide = wsi_root / "TCGA-CR-7395-01A-01-TS1.svs"
    with pytest.raises(InputError, match="no mpp.*--mpp"):
        segment_slide(slide, "test-dark-threshold", tmp_path / "out", plugins=[PLUGIN_FILE])
    assert not (tmp_path / "out").exists()
    # With --mpp, a 768×512 region at (2000, 1500): polygons in level-0 coordinates inside it.
    result = segment_slide(slide, "test-dark-threshold", tmp_path / "out", plugins=[PLUGIN_FILE],
                           mpp=0.5, region=(2000, 1500, 768, 512), tile_size=256, progress=False)
    assert result.mpp == 0.5 and result.n_nuclei > 50
    for feature in _features(result.geojson):
        x0, y0, x1, y1 = shape(feature["geometry"]).bounds
        assert 2000 <= x0 and x1 <= 2768 and 1500 <= y0 and y1 <= 2012


def _rasterise(features, shape_hw):
    """Label image from GeoJSON polygons: pixel (r, c) belongs to a polygon containing its centre."""
    from skimage.draw import polygon

    labels = np.zeros(shape_hw, np.int32)
    for i, feature in enumerate(features, start=1):
        xy = np.asarray(feature["geometry"]["coordinates"][0])
        rr, cc = polygon(xy[:, 1] - 0.5, xy[:, 0] - 0.5, shape_hw)
        labels[rr, cc] = i
    return labels


def test_monuseg_tile_as_slide_same_aji(data_root, tmp_path, full_manager):
    # Acceptance: a 1000×1000 MoNuSeg test tile written as a pyramidal TIFF at 0.25 µm/px and
    # segmented as a slide in 256 px tiles (64 px overlap) scores the same AJI as the tile
    # segmented whole, within 0.01. Segmenter: the registered classical `cellprofiler-style`.
    from nucbench.data import read_image, read_monuseg_xml

    name = "TCGA-2Z-A9J9-01A-01-TS1"
    image = read_image(data_root / "monuseg" / "test" / "images" / f"{name}.tif")
    truth = read_monuseg_xml(data_root / "monuseg" / "test" / "annotations" / f"{name}.xml",
                             shape=image.shape[:2])
    slide = write_pyramid(tmp_path / f"{name}.tif", image, mpp=0.25, n_levels=2)
    segmenter = full_manager.create("segmenter", "cellprofiler-style")
    aji = full_manager.create("metric", "aji")
    whole = aji(truth, segmenter.segment(image, mpp=0.25))
    result = segment_slide(slide, "cellprofiler-style", tmp_path / "out", tile_size=256, overlap=64,
                           progress=False)
    assert result.n_tiles == 16
    tiled = aji(truth, _rasterise(_features(result.geojson), image.shape[:2]))
    assert abs(tiled - whole) < 0.01, (whole, tiled)
