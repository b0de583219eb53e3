"""MoNuSeg XML rasterisation and mask-derived labels (nucbench.data.annotations)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nucbench.data.annotations import (
    count_monuseg_regions,
    labels_from_binary_mask,
    labels_from_colour_mask,
    parse_monuseg_xml,
    read_monuseg_mpp,
    read_monuseg_xml,
)
from nucbench.errors import InputError

# Nuclei per MoNuSeg 2018 test tile, from ../shared/data/README.md (total 6,697).
TEST_COUNTS = {
    "TCGA-2Z-A9J9-01A-01-TS1": 575,
    "TCGA-44-2665-01B-06-BS6": 818,
    "TCGA-69-7764-01A-01-TS1": 441,
    "TCGA-A6-6782-01A-01-BS1": 441,
    "TCGA-AC-A2FO-01A-01-TS1": 521,
    "TCGA-AO-A0J2-01A-01-BSA": 356,
    "TCGA-CU-A0YN-01A-02-BSB": 677,
    "TCGA-EJ-A46H-01A-03-TSC": 466,
    "TCGA-FG-A4MU-01B-01-TS1": 465,
    "TCGA-GL-6846-01A-01-BS1": 355,
    "TCGA-HC-7209-01A-01-TS1": 325,
    "TCGA-HT-8564-01Z-00-DX1": 249,
    "TCGA-IZ-8196-01A-01-BS1": 533,
    "TCGA-ZF-A9R5-01A-01-TS1": 475,
}


def write_xml(path: Path, regions: list[list[tuple[float, float]]], mpp: str | None = "0.25") -> Path:
    """An Aperio ImageScope XML with one Region per polygon of (X, Y) vertices."""
    attr = f' MicronsPerPixel="{mpp}"' if mpp is not None else ""
    body = "".join(
        f'<Region Id="{i}"><Vertices>'
        + "".join(f'<Vertex X="{x}" Y="{y}"/>' for x, y in poly)
        + "</Vertices></Region>"
        for i, poly in enumerate(regions, start=1)
    )
    path.write_text(
        f"<Annotations{attr}><Annotation Id=\"1\"><Regions>"
        f"<RegionAttributeHeaders><AttributeHeader Id=\"9999\" Name=\"Region\"/></RegionAttributeHeaders>"
        f"{body}</Regions></Annotation></Annotations>"
    )
    return path


def test_square_filled_with_raw_coordinates(tmp_path):
    # skimage.draw.polygon fills pixel centres strictly inside or on the boundary: the square
    # X 1..4, Y 2..5 covers rows 2..5 and columns 1..4, i.e. 4 × 4 = 16 pixels.
    xml = write_xml(tmp_path / "a.xml", [[(1, 2), (4, 2), (4, 5), (1, 5)]])
    labels = read_monuseg_xml(xml, shape=(8, 8))
    assert labels.dtype == np.int32 and labels.shape == (8, 8)
    assert (labels == 1).sum() == 16
    assert labels[2:6, 1:5].min() == 1 and labels.sum() == 16


def test_later_region_overwrites_and_file_order_ids(tmp_path):
    # region 1: rows/cols 0..3 (16 px); region 2: rows/cols 2..5 overlaps it on 2×2 = 4 px.
    xml = write_xml(tmp_path / "a.xml", [[(0, 0), (3, 0), (3, 3), (0, 3)], [(2, 2), (5, 2), (5, 5), (2, 5)]])
    labels = read_monuseg_xml(xml, (8, 8))
    assert (labels == 1).sum() == 16 - 4 and (labels == 2).sum() == 16
    assert labels[2, 2] == 2


def test_polygon_partly_outside_is_clipped(tmp_path):
    # X -2..1 → columns 0..1 inside; Y 0..1 → rows 0..1: 2 × 2 = 4 pixels.
    xml = write_xml(tmp_path / "a.xml", [[(-2, 0), (1, 0), (1, 1), (-2, 1)]])
    assert (read_monuseg_xml(xml, (4, 4)) == 1).sum() == 4


def test_polygon_outside_image_names_file_and_region(tmp_path):
    xml = write_xml(tmp_path / "far.xml", [[(0, 0), (2, 0), (2, 2)], [(50, 50), (60, 50), (60, 60)]])
    with pytest.raises(InputError, match=r"far\.xml: Region Id=2 lies entirely outside the 8×8 image"):
        read_monuseg_xml(xml, (8, 8))


def test_empty_xml_file(tmp_path):
    empty = tmp_path / "empty.xml"
    empty.write_text("")
    with pytest.raises(InputError, match=r"empty\.xml: annotation file is empty"):
        read_monuseg_xml(empty, (8, 8))


def test_xml_without_regions(tmp_path):
    xml = write_xml(tmp_path / "none.xml", [])
    with pytest.raises(InputError, match=r"none\.xml: no <Region> elements"):
        read_monuseg_xml(xml, (8, 8))
    assert count_monuseg_regions(xml) == 0


def test_malformed_xml(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<Annotations><Annotation>")
    with pytest.raises(InputError, match=r"bad\.xml: not valid XML"):
        count_monuseg_regions(bad)
    other = tmp_path / "other.xml"
    other.write_text("<svg/>")
    with pytest.raises(InputError, match=r"other\.xml: root element is <svg>"):
        read_monuseg_xml(other, (8, 8))


def test_bad_vertex(tmp_path):
    xml = tmp_path / "v.xml"
    xml.write_text('<Annotations><Annotation><Regions><Region Id="7"><Vertices><Vertex X="a" Y="1"/>'
                   "</Vertices></Region></Regions></Annotation></Annotations>")
    with pytest.raises(InputError, match=r"v\.xml: Region Id=7 has a vertex without a numeric X/Y"):
        parse_monuseg_xml(xml)


def test_missing_xml(tmp_path):
    with pytest.raises(InputError, match=r"gone\.xml: no such file"):
        read_monuseg_xml(tmp_path / "gone.xml", (8, 8))


def test_mpp(tmp_path):
    assert read_monuseg_mpp(write_xml(tmp_path / "a.xml", [[(0, 0), (1, 0), (1, 1)]], mpp="0.2527")) == 0.2527
    assert read_monuseg_mpp(write_xml(tmp_path / "b.xml", [[(0, 0), (1, 0), (1, 1)]], mpp=None)) is None


def test_monuseg_test_counts_match_readme(monuseg_root):
    """Acceptance: every test tile has one distinct id per XML Region (6,697 in all)."""
    total = 0
    for case, expected in TEST_COUNTS.items():
        xml = monuseg_root / "test/annotations" / f"{case}.xml"
        assert count_monuseg_regions(xml) == expected
        labels = read_monuseg_xml(xml, (1000, 1000))
        assert len(np.unique(labels)) - 1 == expected, case
        total += expected
    assert total == 6697
    assert sorted(p.stem for p in (monuseg_root / "test/annotations").glob("*.xml")) == sorted(TEST_COUNTS)


def test_monuseg_train_zero_area_regions(monuseg_root):
    """Two training XMLs each hold one two-vertex, Area=0 region, which fills no pixel."""
    for case, regions in (("TCGA-50-5931-01Z-00-DX1", 445), ("TCGA-E2-A1B5-01Z-00-DX1", 329)):
        xml = monuseg_root / "train/annotations" / f"{case}.xml"
        assert count_monuseg_regions(xml) == regions
        assert len(np.unique(read_monuseg_xml(xml, (1000, 1000)))) - 1 == regions - 1
        degenerate = [r for r in parse_monuseg_xml(xml) if len(r.x) < 3]
        assert len(degenerate) == 1


def test_colour_mask_instances():
    mask = np.zeros((4, 4, 3), np.uint8)
    mask[0, 0] = mask[1, 1] = (10, 20, 30)  # diagonal neighbours, one colour: one instance
    mask[0, 1] = (10, 20, 31)  # another colour touching it: another instance
    mask[3, 3] = (10, 20, 30)  # same colour, not connected: a third instance
    labels = labels_from_colour_mask(mask)
    assert labels.max() == 3
    assert labels[0, 0] == labels[1, 1] != labels[0, 1]
    assert labels[3, 3] not in (0, labels[0, 0])


def test_binary_mask_instances():
    mask = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]])
    # 4-connectivity: diagonal pixels are two instances
    assert labels_from_binary_mask(mask).max() == 2
