"""The shipped model segments a real MoNuSeg tile out of the box (real component test)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np

from nucbench.cli import main
from nucbench.data.io import read_label_image

REPO = Path(__file__).resolve().parents[2]
TEST_IMAGES = REPO.parent / "shared" / "data" / "monuseg" / "test" / "images"


def test_shipped_weights_are_small_and_documented():
    package = resources.files("nucbench_scale_ssl")
    weights = Path(str(package / "scale-ssl.pt"))
    assert weights.stat().st_size < 2_000_000
    meta = json.loads(Path(str(package / "scale-ssl.json")).read_text())
    assert meta["post_processor"]["name"] == "watershed"


def test_shipped_model_runs_at_the_scale_chosen_on_validation():
    import nucbench

    package = resources.files("nucbench_scale_ssl")
    meta = json.loads(Path(str(package / "scale-ssl.json")).read_text())
    assert nucbench.create("segmenter", "scale-ssl").scale == meta["inference"]["scale"]
    assert nucbench.create("segmenter", "scale-ssl", scale=1.0).scale == 1.0


def test_shipped_model_loads_every_member_its_provenance_lists():
    import nucbench

    package = resources.files("nucbench_scale_ssl")
    meta = json.loads(Path(str(package / "scale-ssl.json")).read_text())
    members = meta.get("ensemble_of", [meta])
    assert all("experiment" in member and "history" in member for member in members)
    assert len(nucbench.create("segmenter", "scale-ssl").members) == len(members)


def test_nucbench_segment_with_the_shipped_model_on_a_real_tile(tmp_path):
    from PIL import Image

    tile = sorted(TEST_IMAGES.glob("*.tif"))[0]
    crop = tmp_path / "crop.png"
    Image.open(tile).convert("RGB").crop((0, 0, 256, 256)).save(crop)
    assert main(["segment", str(crop), "--method", "scale-ssl", "--out", str(tmp_path / "out")]) == 0
    labels = read_label_image(tmp_path / "out" / "crop.png")
    assert labels.shape == (256, 256)
    assert len(np.unique(labels)) > 5  # a 256×256 MoNuSeg crop holds dozens of nuclei
