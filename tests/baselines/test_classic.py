"""The classical baselines: contract, synthetic nuclei, empty tiles, mpp scaling, errors."""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path

import numpy as np
import pytest

from nucbench import ConfigError, InputError

from .conftest import ALL_BASELINES, CLASSICAL, disks_image

RECORD = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "baselines_tuning.json"


@pytest.mark.parametrize("name", CLASSICAL)
def test_finds_four_separate_disks(full_manager, four_disks, name):
    labels = full_manager.create("segmenter", name).segment(four_disks)
    assert labels.shape == four_disks.shape[:2]
    assert np.issubdtype(labels.dtype, np.integer)
    # 4 disks of radius 7 (area ≈ π·49 ≈ 154 px), 18 px of background between neighbours
    assert labels.max() == 4
    assert sorted(np.unique(labels).tolist()) == [0, 1, 2, 3, 4]
    for r, c in [(16, 16), (16, 48), (48, 16), (48, 48)]:
        assert labels[r, c] > 0  # every centre is inside an object
    assert labels[0, 0] == 0 and labels[32, 32] == 0  # background stays background


@pytest.mark.parametrize("name", CLASSICAL)
def test_blank_and_glass_tiles_are_empty(full_manager, blank_tile, glass_tile, name):
    seg = full_manager.create("segmenter", name)
    for tile in (blank_tile, glass_tile):
        labels = seg.segment(tile)
        assert labels.shape == (64, 64)
        assert labels.max() == 0


@pytest.mark.parametrize("name", CLASSICAL)
def test_stock_configuration_runs(full_manager, four_disks, name):
    import importlib

    module, _, attr = full_manager.registries.segmenter.get(name).metadata["stock"].partition(":")
    stock = getattr(importlib.import_module(module), attr)
    labels = full_manager.create("segmenter", name, **stock).segment(four_disks)
    assert labels.max() == 4


@pytest.mark.parametrize("name", ["cellprofiler-style", "fiji-style"])
def test_touching_nuclei_are_split(full_manager, name):
    # two disks of radius 9 whose centres are 14 px apart: they overlap (14 < 18) in a neck
    # ≈ 2·sqrt(9² − 7²) ≈ 11 px wide, narrower than either disk (18 px), so the distance map has
    # two maxima, while one threshold alone gives one connected blob
    image = disks_image([(32, 25), (32, 39)], 9.0)
    seg = full_manager.create("segmenter", name, **_splitting_params(name))
    labels = seg.segment(image)
    assert labels.max() == 2
    assert labels[32, 25] != labels[32, 39]
    floor = full_manager.create("segmenter", "otsu").segment(image)
    assert floor.max() == 1  # the floor does not split


def _splitting_params(name: str) -> dict:
    if name == "cellprofiler-style":
        return {"declump": "shape", "dividing_lines": "shape", "maxima_suppression": 6.0,
                "discard_border": False}
    return {"watershed": True, "watershed_tolerance": 0.5, "size_min": 0.0}


def test_cellprofiler_sizes_scale_with_mpp(full_manager):
    # a disk of radius 3 px: area ≈ π·9 ≈ 28 px. At the reference 0.25 µm/px the minimum
    # diameter 10 px means a minimum area π·5² ≈ 78.5 px → discarded. Said to be at 0.5 µm/px,
    # the minimum diameter becomes 10·0.25/0.5 = 5 px, area π·2.5² ≈ 19.6 px → kept.
    image = disks_image([(32, 32)], 3.0)
    seg = full_manager.create("segmenter", "cellprofiler-style", diameter_min=10.0,
                              discard_outside_diameter=True, discard_border=False, declump="none")
    assert seg.segment(image).max() == 0
    assert seg.segment(image, mpp=0.5).max() == 1


def test_fiji_size_range_scales_with_mpp(full_manager):
    # disk of radius 7: area ≈ 154 px. size_min 100 px² at 40x: kept at 0.25 µm/px; at
    # 0.125 µm/px (80x) the minimum becomes 100·(0.25/0.125)² = 400 px → removed.
    image = disks_image([(32, 32)], 7.0)
    seg = full_manager.create("segmenter", "fiji-style", size_min=100.0)
    assert seg.segment(image).max() == 1
    assert seg.segment(image, mpp=0.125).max() == 0


@pytest.mark.parametrize("name", CLASSICAL)
def test_bad_image_is_an_input_error(full_manager, name):
    seg = full_manager.create("segmenter", name)
    with pytest.raises(InputError, match=f"segmenter '{name}'.*uint8"):
        seg.segment(np.zeros((8, 8), np.uint8))
    with pytest.raises(InputError, match="uint8"):
        seg.segment(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(InputError, match="mpp"):
        seg.segment(np.zeros((8, 8, 3), np.uint8), mpp=0.0)


def test_misspelt_parameter_suggests_the_right_one(full_manager):
    with pytest.raises(ConfigError, match=r"unknown parameter 'declmp'\. Did you mean 'declump'\?"):
        full_manager.create("segmenter", "cellprofiler-style", declmp="shape")


def test_invalid_choice_names_the_parameter(full_manager):
    with pytest.raises(ConfigError, match="fiji-style.*threshold_method"):
        full_manager.create("segmenter", "fiji-style", threshold_method="isodata2")


@pytest.mark.parametrize("name", CLASSICAL)
def test_every_parameter_is_typed_and_documented(full_manager, name):
    builder = full_manager.registries.segmenter.get(name).resolve()
    doc = inspect.getdoc(builder)
    for pname, p in inspect.signature(builder.__init__).parameters.items():
        if pname == "self":
            continue
        assert p.annotation is not inspect.Parameter.empty, pname
        assert p.default is not inspect.Parameter.empty, pname
        assert pname in doc, f"{name}: parameter {pname} is not documented"


@pytest.mark.parametrize("name", CLASSICAL)
def test_regression_defaults_are_the_tuned_values(full_manager, name):
    """The class defaults are the best validation configuration recorded by baselines_tune.py."""
    best = json.loads(RECORD.read_text())["methods"][name]["best"]["params"]
    builder = full_manager.registries.segmenter.get(name).resolve()
    defaults = {k: p.default for k, p in inspect.signature(builder.__init__).parameters.items()
                if k != "self"}
    assert set(best) <= set(defaults), f"{name}: recorded parameters {set(best) - set(defaults)} do not exist"
    for key, value in best.items():
        assert defaults[key] == value or (
            isinstance(value, float) and math.isclose(defaults[key], value)
        ), f"{name}.{key}: default {defaults[key]!r}, tuned {value!r}"


def test_real_validation_tile(full_manager, data_root):
    """One real MoNuSeg validation tile: a sensible number of nuclei and overlap with the XML."""
    ds = full_manager.create("dataset", "monuseg", root=str(data_root), split="val")
    sample = ds[ds.ids.index("TCGA-B0-5710-01Z-00-DX1")]
    labels = full_manager.create("segmenter", "cellprofiler-style").segment(sample.image, mpp=sample.mpp)
    aji = full_manager.create("metric", "aji")(sample.labels, labels)
    n_true = int(len(np.unique(sample.labels)) - 1)
    assert 0.5 * n_true < labels.max() < 2.0 * n_true
    assert aji > 0.45


def test_suite_stock_rows_match_the_plugins_stock_tables(full_manager):
    """benchmarks/baselines.yaml spells out each stock configuration; it must be the plugin's STOCK."""
    import importlib

    import yaml

    suite = yaml.safe_load((RECORD.parents[1] / "baselines.yaml").read_text())
    stock_rows = {m["segmenter"]["name"]: m["segmenter"]["params"] for m in suite["methods"]
                  if m["label"].endswith("(stock)")}
    assert sorted(stock_rows) == sorted(ALL_BASELINES)
    for name, params in stock_rows.items():
        module, _, attr = full_manager.registries.segmenter.get(name).metadata["stock"].partition(":")
        assert params == getattr(importlib.import_module(module), attr), name


def _stock(full_manager, name: str) -> dict:
    import importlib

    module, _, attr = full_manager.registries.segmenter.get(name).metadata["stock"].partition(":")
    return dict(getattr(importlib.import_module(module), attr))


@pytest.mark.parametrize("name", ALL_BASELINES)
def test_stock_reaches_the_segmenter_through_the_registry(full_manager, name):
    """The registry drops ``None`` ("use the default"), so no STOCK value may be ``None`` unless
    the default is ``None`` too: every stock value must arrive unchanged."""
    stock = _stock(full_manager, name)
    seg = full_manager.create("segmenter", name, **stock)
    for key, value in stock.items():
        assert getattr(seg, key) == value, f"{name}.{key}: built with {getattr(seg, key)!r}, STOCK {value!r}"


@pytest.mark.parametrize("name", ALL_BASELINES)
def test_record_stock_is_the_plugins_stock_table(full_manager, name):
    """baselines_tuning.json's 'stock' is the plugin's STOCK table."""
    record = json.loads(RECORD.read_text())["methods"][name]
    assert record["stock"]["params"] == _stock(full_manager, name)


@pytest.mark.parametrize("name", CLASSICAL)
def test_stock_blank_and_glass_tiles_are_empty(full_manager, blank_tile, glass_tile, name):
    seg = full_manager.create("segmenter", name, **_stock(full_manager, name))
    for tile in (blank_tile, glass_tile):
        assert seg.segment(tile).max() == 0


def test_table1_stock_rows_match_the_plugins_stock_tables(full_manager):
    import yaml

    suite = yaml.safe_load((RECORD.parents[1] / "table1.yaml").read_text())
    rows = {m["segmenter"]["name"]: m["segmenter"]["params"] for m in suite["methods"]
            if m["label"].endswith("(stock)")}
    assert sorted(rows) == sorted(["cellprofiler-style", "fiji-style", "supervised-unet"])
    for name, params in rows.items():
        assert params == _stock(full_manager, name), name


def test_cellprofiler_automatic_maxima_suppression(full_manager):
    # maxima_suppression 0 = automatic = diameter_min / 1.5: with diameter_min 9 that is 6 px,
    # so the automatic setting and an explicit 6.0 give the same labels
    image = disks_image([(32, 25), (32, 39), (14, 14)], 9.0)
    common = {"diameter_min": 9.0, "declump": "shape", "dividing_lines": "shape", "discard_border": False}
    auto = full_manager.create("segmenter", "cellprofiler-style", maxima_suppression=0.0, **common)
    explicit = full_manager.create("segmenter", "cellprofiler-style", maxima_suppression=6.0, **common)
    assert np.array_equal(auto.segment(image), explicit.segment(image))
    with pytest.raises(ValueError, match="maxima_suppression"):
        full_manager.create("segmenter", "cellprofiler-style", maxima_suppression=-1.0)
