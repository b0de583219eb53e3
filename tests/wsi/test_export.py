"""Exports: polygons from masks, measurements, GeoJSON/CSV writers (atomic), the overlay canvas."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import shapely

from nucbench.export import (
    DetectionWriter,
    OverlayCanvas,
    TableWriter,
    clean_polygons,
    mask_to_polygon,
    measure_nuclei,
)


def test_mask_to_polygon_square_follows_pixel_edges():
    mask = np.zeros((6, 6), bool)
    mask[1:4, 2:5] = True
    ring = mask_to_polygon(mask)
    poly = shapely.Polygon(ring)
    # 3×3 pixels, pixel edges at integers: box x 2..5, y 1..4; the four convex corners are cut
    # by half-pixel triangles (0.125 each): area 9 − 4 · 0.125 = 8.5.
    assert poly.bounds == (2.0, 1.0, 5.0, 4.0)
    assert poly.area == pytest.approx(8.5)
    assert poly.is_valid


def test_mask_to_polygon_keeps_largest_component_and_fills_holes():
    mask = np.zeros((8, 8), bool)
    mask[1:6, 1:6] = True
    mask[3, 3] = False      # a hole
    mask[7, 7] = True       # a stray pixel
    poly = shapely.Polygon(mask_to_polygon(mask))
    # 5×5 filled square with cut corners: 25 − 0.5 = 24.5; the stray pixel is dropped.
    assert poly.area == pytest.approx(24.5)
    assert mask_to_polygon(np.zeros((3, 3), bool)) is None


def test_clean_polygons_repairs_and_orients():
    bowtie = np.array([[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]], float)
    clockwise = np.array([[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]], float)
    line = np.array([[0, 0], [1, 1], [0, 0]], float)
    fixed, square, empty = clean_polygons([bowtie, clockwise, line], grid_size=0.01)
    assert fixed.is_valid and fixed.area == pytest.approx(1.0)   # one of the two unit triangles
    assert square.exterior.is_ccw
    assert empty is None


def test_measure_nuclei_hand_values():
    image = np.full((12, 12, 3), 255, np.uint8)
    labels = np.zeros((12, 12), int)
    labels[1:3, 1:9] = 5      # 2×8 bar: area 16 px
    labels[6:10, 6:10] = 9    # 4×4 square: area 16 px
    m = measure_nuclei(image, labels, mpp=0.5)
    assert m["label"].tolist() == [5, 9]
    # area 16 px · 0.25 µm² = 4 µm² each.
    assert m["area_um2"].tolist() == [4.0, 4.0]
    # Square: covariance eigenvalues equal (var of 0..3 = 1.25) → eccentricity 0,
    # axes 4 · √1.25 · 0.5 = 2.236 µm.
    assert m["eccentricity"][1] == pytest.approx(0.0)
    assert m["major_axis_um"][1] == pytest.approx(4 * math.sqrt(1.25) * 0.5)
    # Bar: variances 0.25 (rows 0..1) and 5.25 (cols 0..7) → eccentricity √(1 − 0.25/5.25).
    assert m["eccentricity"][0] == pytest.approx(math.sqrt(1 - 0.25 / 5.25))
    # Square outline: 3 + 3 + 3 + 3 straight + 4 · √0.5 diagonal = 14.83 px → 7.414 µm; the
    # outline (area 15.5) is convex, so solidity 1.
    assert m["perimeter_um"][1] == pytest.approx((12 + 4 * math.sqrt(0.5)) * 0.5)
    assert m["solidity"][1] == pytest.approx(1.0)
    # White glass has zero optical density.
    assert m["hematoxylin_mean"] == pytest.approx([0.0, 0.0], abs=1e-6)


def test_measure_nuclei_hematoxylin_orders_stains():
    image = np.full((4, 8, 3), 255, np.uint8)
    image[:, :4] = (60, 40, 130)      # hematoxylin-like purple
    image[:, 4:] = (230, 120, 180)    # eosin-like pink
    labels = np.zeros((4, 8), int)
    labels[:, :4], labels[:, 4:] = 1, 2
    m = measure_nuclei(image, labels, mpp=1.0)
    assert m["hematoxylin_mean"][0] > m["hematoxylin_mean"][1]


def test_detection_writer_output_is_qupath_geojson(tmp_path):
    path = tmp_path / "out.geojson"
    ring = np.array([[10, 10], [12, 10], [12, 12], [10, 12], [10, 10]], float)
    with DetectionWriter(path) as out:
        out.add(ring, {"Area µm^2": 0.25, "Eccentricity": float("nan")})
        out.add(ring + 5, {"Area µm^2": 0.25, "Eccentricity": 0.0})
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 2
    first = data["features"][0]
    assert first["properties"]["objectType"] == "detection"
    assert first["properties"]["classification"]["name"] == "Nucleus"
    assert first["properties"]["measurements"] == {"Area µm^2": 0.25, "Eccentricity": None}
    assert shapely.geometry.shape(first["geometry"]).area == 4.0
    assert first["id"] != data["features"][1]["id"]


def test_writers_leave_nothing_on_error(tmp_path):
    ring = np.array([[0, 0], [1, 0], [1, 1], [0, 0]], float)
    with pytest.raises(RuntimeError), DetectionWriter(tmp_path / "a.geojson") as out:
        out.add(ring, {})
        raise RuntimeError("interrupted")
    with pytest.raises(RuntimeError), TableWriter(tmp_path / "a.csv", ["id"]) as table:
        table.add({"id": 1})
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_overlay_canvas(tmp_path):
    canvas = OverlayCanvas(10, 6)
    canvas.paste(np.zeros((6, 5, 3), np.uint8), (5, 0))
    canvas.draw_ring(np.array([[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]], float))
    path = canvas.save(tmp_path / "o.png")
    from PIL import Image

    picture = np.asarray(Image.open(path))
    assert picture.shape == (6, 10, 3)
    assert tuple(picture[0, 0]) == (255, 255, 255) and tuple(picture[0, 9]) == (0, 0, 0)
    assert tuple(picture[1, 2]) == (0, 255, 64)


def _find_contours_outline(mask):
    """Reference outline: skimage's find_contours at 0.5 on the largest 4-connected component,
    pockets closed even diagonally filled (the convention label_outlines documents)."""
    from scipy import ndimage as ndi
    from skimage.measure import find_contours

    parts, _ = ndi.label(mask)
    sizes = np.bincount(parts.ravel())
    sizes[0] = 0
    blob = parts == sizes.argmax()
    contours = find_contours(np.pad(blob, 1).astype(float), 0.5)
    if len(contours) > 1:
        blob = ndi.binary_fill_holes(blob, structure=np.ones((3, 3)))
        contours = find_contours(np.pad(blob, 1).astype(float), 0.5)
    ring = max(contours, key=len)
    return shapely.Polygon(np.stack([ring[:, 1] - 0.5, ring[:, 0] - 0.5], axis=1))


def test_label_outlines_match_find_contours_on_random_labels():
    # Random label images (touching objects, holes, diagonal contacts, several components per
    # label): every outline is valid, counter-clockwise, and the same polygon as find_contours'.
    from scipy import ndimage as ndi

    from nucbench.export import label_outlines

    rng = np.random.default_rng(7)
    checked = 0
    for trial in range(60):
        h, w = rng.integers(3, 20, 2)
        labels = rng.integers(0, 5, (h, w)) * (rng.random((h, w)) < 0.75)
        if trial % 2:
            labels = ndi.median_filter(labels, 3)
        ids = np.unique(labels[labels > 0])
        coords, counts = label_outlines(labels, ids)
        for label, ring in zip(ids, np.split(coords, np.cumsum(counts)[:-1]), strict=True):
            polygon = shapely.Polygon(ring)
            assert polygon.is_valid and polygon.exterior.is_ccw
            assert polygon.equals(_find_contours_outline(labels == label)), (trial, label)
            checked += 1
    assert checked > 150
