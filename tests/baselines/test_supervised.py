"""The supervised-unet baseline: model, targets, post-processing, shipped weights, segmenter contract."""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from nucbench_supervised.model import SmallUNet
from nucbench_supervised.postprocess import distance_watershed
from nucbench_supervised.segmenter import SHIPPED_WEIGHTS, STOCK, save_checkpoint
from nucbench_supervised.targets import distance_target

from nucbench import InputError

from .conftest import disks_image

RECORD = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "baselines_tuning.json"


@pytest.fixture
def tiny_checkpoint(tmp_path) -> Path:
    torch.manual_seed(0)
    return save_checkpoint(tmp_path / "tiny.pt", SmallUNet((4, 8)), mean=(0.5,) * 3, std=(0.25,) * 3)


def test_model_shapes_and_size():
    model = SmallUNet((4, 8, 16)).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, 32, 32))
    assert out.shape == (2, 2, 32, 32)  # foreground logit + distance, full resolution
    assert model.multiple == 4  # two downsamplings
    assert sum(p.numel() for p in SmallUNet().parameters()) < 500_000  # < 2 MB in fp32


def test_distance_target_of_two_touching_squares():
    lab = np.zeros((7, 12), int)
    lab[1:6, 1:6] = 1  # 5×5 square: border ring 1, next ring 2, centre 3 → centre normalised to 1
    lab[1:6, 6:11] = 2  # touching neighbour: the shared edge counts as border for both
    d = distance_target(lab)
    assert d[3, 3] == 1.0 and d[3, 8] == 1.0
    assert d[3, 5] == pytest.approx(1 / 3) and d[3, 6] == pytest.approx(1 / 3)
    assert d[0].max() == 0.0 and d.dtype == np.float32
    assert distance_target(np.zeros((4, 4), int)).max() == 0.0


def test_distance_watershed_splits_cores_and_keeps_orphans():
    yy, xx = np.indices((24, 48))
    # two touching cones (centres 14 px apart, radius 9) and a faint blob with no core
    d = np.clip(1 - np.minimum(np.hypot(yy - 12, xx - 12), np.hypot(yy - 12, xx - 26)) / 9, 0, 1)
    prob = (d > 0).astype(float)
    prob[10:14, 40:44] = 1.0  # 16 px foreground whose distance stays 0: one object of its own
    labels = distance_watershed(prob, d, fg_threshold=0.5, marker_threshold=0.5, min_area=1)
    assert labels.max() == 3
    assert labels[12, 12] != labels[12, 26]
    assert labels[11, 41] > 0
    assert distance_watershed(np.zeros((8, 8)), np.zeros((8, 8))).max() == 0


def test_shipped_weights_are_small_and_recorded():
    assert SHIPPED_WEIGHTS.is_file()
    assert SHIPPED_WEIGHTS.stat().st_size <= 2_000_000
    blob = torch.load(SHIPPED_WEIGHTS, map_location="cpu", weights_only=True)
    assert set(blob) == {"state_dict", "config"}
    record = json.loads(SHIPPED_WEIGHTS.with_suffix(".json").read_text())
    assert len(record["train_cases"]) == 19 and len(record["val_cases"]) == 11
    assert not set(record["train_cases"]) & set(record["val_cases"])


@pytest.mark.parametrize("stock", [False, True])
def test_blank_and_glass_tiles_are_empty(full_manager, blank_tile, glass_tile, stock):
    seg = full_manager.create("segmenter", "supervised-unet", **(STOCK if stock else {}))
    for tile in (blank_tile, glass_tile):
        labels = seg.segment(tile)
        assert labels.shape == (64, 64) and labels.max() == 0


def test_finds_synthetic_disks(full_manager, four_disks):
    labels = full_manager.create("segmenter", "supervised-unet").segment(four_disks)
    assert labels.shape == (64, 64) and np.issubdtype(labels.dtype, np.integer)
    assert labels.max() == 4
    for r, c in [(16, 16), (16, 48), (48, 16), (48, 48)]:
        assert labels[r, c] > 0


def test_checkpoint_parameter(full_manager, tiny_checkpoint, tmp_path):
    seg = full_manager.create("segmenter", "supervised-unet", checkpoint=str(tiny_checkpoint))
    image = disks_image([(10, 10)], 5.0, shape=(21, 19))  # not a multiple of 2: padded and cropped
    a = seg.segment(image)
    assert a.shape == (21, 19)
    assert np.array_equal(a, seg.segment(image))  # deterministic
    assert seg.segment(image, mpp=0.5).shape == (21, 19)  # resampled to 0.25 µm/px and back
    with pytest.raises(InputError, match="checkpoint not found"):
        full_manager.create("segmenter", "supervised-unet", checkpoint=str(tmp_path / "nope.pt"))
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="not a supervised-unet checkpoint"):
        full_manager.create("segmenter", "supervised-unet", checkpoint=str(bad))


def test_bad_image_is_an_input_error(full_manager, tiny_checkpoint):
    seg = full_manager.create("segmenter", "supervised-unet", checkpoint=str(tiny_checkpoint))
    with pytest.raises(InputError, match="supervised-unet.*uint8"):
        seg.segment(np.zeros((8, 8, 3), np.float64))


def test_regression_defaults_are_the_tuned_values(full_manager):
    best = json.loads(RECORD.read_text())["methods"]["supervised-unet"]["best"]["params"]
    builder = full_manager.registries.segmenter.get("supervised-unet").resolve()
    defaults = {k: p.default for k, p in inspect.signature(builder.__init__).parameters.items()
                if k != "self"}
    assert set(best) <= set(defaults), f"recorded parameters {set(best) - set(defaults)} do not exist"
    for key, value in best.items():
        assert math.isclose(defaults[key], value), f"{key}: default {defaults[key]}, tuned {value}"
