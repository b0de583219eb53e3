"""``nucbench evaluate``: per-image and dataset scores, missing/extra predictions, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from nucbench.cli import main
from nucbench.data.annotations import read_monuseg_xml
from nucbench.data.io import write_label_image


def run_json(args, capsys):
    assert main(["evaluate", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_ground_truth_written_as_png_scores_perfectly_on_a_real_tile(monuseg_test, tmp_path, capsys):
    # Acceptance: a MoNuSeg test annotation, rasterised as the project reads it and written as a
    # label PNG, scored against the XML: AJI = ADC = PQ = 1 and AHD = 0. (The benchmark
    # benchmarks/metrics_speed.py does all 14 tiles against ../shared/data/monuseg/test/annotations.)
    gt, pred = tmp_path / "annotations", tmp_path / "pred"
    gt.mkdir()
    xml = monuseg_test / "annotations" / "TCGA-HT-8564-01Z-00-DX1.xml"  # 249 nuclei
    (gt / xml.name).symlink_to(xml)
    write_label_image(pred / f"{xml.stem}.png", read_monuseg_xml(xml, (1000, 1000)))
    result = run_json(["--pred", str(pred), "--gt", str(gt)], capsys)
    assert result["n_images"] == 1 and not result["missing_predictions"] and not result["extra_predictions"]
    values = result["images"][0]["values"]
    assert {k: values[k] for k in ("aji", "adc", "pq", "ahd")} == {"aji": 1.0, "adc": 1.0, "pq": 1.0,
                                                                   "ahd": 0.0}
    assert result["mean"] == values and result["pooled"] == {"aji": 1.0, "aji-plus": 1.0, "dice": 1.0}
    assert result["metrics"]["ahd"]["higher_is_better"] is False


DATASET_PLUGIN = '''
import numpy as np

from nucbench import hookimpl
from nucbench.data import Sample


class Tiny:
    """Two 4×4 samples per split, one square nucleus each."""

    def __init__(self, split: str = "train", size: int = 2) -> None:
        self.split, self.size = split, size
        self.ids = (f"{split}-0", f"{split}-1")

    def __len__(self):
        return 2

    def __getitem__(self, i):
        labels = np.zeros((4, 4), np.int32)
        labels[:self.size, :self.size] = 1
        return Sample(np.zeros((4, 4, 3), np.uint8), labels, None, None, self.ids[i])


@hookimpl
def nucbench_register(registries):
    registries.dataset.register("tiny", Tiny)
'''


def test_dataset_name_with_split_and_params(tmp_path, capsys):
    plugin = tmp_path / "tiny_dataset.py"
    plugin.write_text(DATASET_PLUGIN)
    pred = tmp_path / "pred"
    square = np.zeros((4, 4), np.int32)
    square[:2, :2] = 5
    write_label_image(pred / "test-0.png", square)
    result = run_json(["--pred", str(pred), "--gt", "tiny:test", "--gt-param", "size=2", "--metric", "aji",
                       "--plugin", str(plugin)], capsys)
    assert result["ground_truth"] == "tiny (size=2, split=test)"
    assert result["images"][0] == {"id": "test-0", "prediction": str(pred / "test-0.png"),
                                   "values": {"aji": 1.0}}
    assert result["missing_predictions"] == ["test-1"]
    assert main(["evaluate", "--pred", str(pred), "--gt", "tiny:test", "--gt-param", "split=val",
                 "--plugin", str(plugin)]) == 2
    assert "split 'test' conflicts with --gt-param split=val" in capsys.readouterr().err


@pytest.fixture
def folders(tmp_path):
    """GT label images a (two 2×2 nuclei), b (one); predictions a (one found), c (extra); b missing."""
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    a = np.zeros((6, 8), np.int32)
    a[0:2, 0:2], a[3:5, 5:7] = 1, 2
    b = np.zeros((6, 8), np.int32)
    b[1:4, 1:4] = 7
    write_label_image(gt / "a.png", a)
    write_label_image(gt / "b.tif", b)
    found = np.zeros((6, 8), np.int32)
    found[0:2, 0:2] = 3
    write_label_image(pred / "a.png", found)
    write_label_image(pred / "c.png", found)
    (pred / "readme.txt").write_text("not a prediction")
    return gt, pred


def test_missing_and_extra_predictions_are_listed(folders, capsys):
    gt, pred = folders
    result = run_json(["--pred", str(pred), "--gt", str(gt), "--metric", "aji", "--metric", "recall"],
                      capsys)
    assert [i["id"] for i in result["images"]] == ["a", "b"]
    # a: C 4, U 4 + 4 (nucleus 2 missed) → 0.5; recall 1/2. b: empty prediction → 0.
    assert result["images"][0]["values"] == {"aji": 0.5, "recall": 0.5}
    assert result["images"][1] == {"id": "b", "prediction": None, "values": {"aji": 0.0, "recall": 0.0}}
    assert result["missing_predictions"] == ["b"]
    assert result["extra_predictions"] == [str(pred / "c.png")]
    assert result["mean"] == {"aji": 0.25, "recall": 0.25}
    assert result["pooled"] == {"aji": 4 / (8 + 9)}  # ΣC / ΣU = 4 / (8 + 9 px of b)


def test_table_output(folders, capsys):
    gt, pred = folders
    assert main(["evaluate", "--pred", str(pred), "--gt", str(gt), "--metric", "aji", "--metric", "ahd"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["image", "aji", "ahd"] and lines[1].split() == ["↑", "↓"]
    assert lines[2].split()[:2] == ["a", "0.5000"] and lines[3].split()[:2] == ["b", "*"]
    assert "missing prediction, scored as empty (1): b" in out
    assert "predictions without ground truth, ignored (1)" in out and "c.png" in out


def test_bad_predictions_are_one_line_errors_naming_the_file(folders, capsys):
    gt, pred = folders

    def fails_with(message):
        assert main(["evaluate", "--pred", str(pred), "--gt", str(gt), "--metric", "aji"]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err

    write_label_image(pred / "a.png", np.zeros((5, 8), np.int32))
    fails_with("a.png: prediction is 5×8 but its ground truth")
    write_label_image(pred / "a.png", np.zeros((6, 8), np.int32))
    np.save(pred / "b.npy", np.zeros((6, 8)))
    fails_with("b.npy: label image has dtype float64")
    (pred / "b.npy").unlink()
    (pred / "b.png").write_bytes(b"garbage")
    fails_with("b.png: cannot read it as an image")
    write_label_image(pred / "b.tif", np.zeros((6, 8), np.int32))
    fails_with("two prediction files for 'b'")


@pytest.mark.parametrize(("pred", "gt", "message"), [
    ("{tmp}/nope", "{gt}", "nope: no such folder"),
    ("{pred}", "{tmp}/nope", "nope: no such folder"),
    ("{pred}", "monusge", "'monusge' is not a registered dataset. Did you mean 'monuseg'?"),
    ("{pred}", "{gt}/a.png", "a.png: is a file; expected a folder or a dataset name"),
])
def test_bad_folders_are_one_line_errors(folders, tmp_path, capsys, pred, gt, message):
    gt_dir, pred_dir = folders
    fill = {"tmp": tmp_path, "gt": gt_dir, "pred": pred_dir}
    assert main(["evaluate", "--pred", pred.format(**fill), "--gt", gt.format(**fill)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_xml_ground_truth_takes_its_size_from_the_image(monuseg_test, tmp_path, capsys):
    gt, pred = tmp_path / "annotations", tmp_path / "pred"
    gt.mkdir()
    pred.mkdir()
    xml = monuseg_test / "annotations" / "TCGA-HT-8564-01Z-00-DX1.xml"
    (gt / xml.name).symlink_to(xml)
    # no prediction and no image: the size is unknown
    assert main(["evaluate", "--pred", str(pred), "--gt", str(gt)]) == 2
    assert "cannot tell the image size" in capsys.readouterr().err
    # a prediction too small for the annotation, and no image to compare it with
    write_label_image(pred / f"{xml.stem}.png", np.zeros((100, 100), np.int32))
    assert main(["evaluate", "--pred", str(pred), "--gt", str(gt)]) == 2
    assert "beyond the 100×100 prediction" in capsys.readouterr().err
    # with the image in ../images, its size rules: the prediction is of another size
    (tmp_path / "images").mkdir()
    Image.new("RGB", (1000, 1000)).save(tmp_path / "images" / f"{xml.stem}.png")
    assert main(["evaluate", "--pred", str(pred), "--gt", str(gt)]) == 2
    err = capsys.readouterr().err
    assert f"{xml.stem}.png: prediction is 100×100 but its ground truth" in err and "1000×1000" in err
    # and a missing prediction is scored as an empty one of that size
    (pred / f"{xml.stem}.png").unlink()
    result = run_json(["--pred", str(pred), "--gt", str(gt), "--metric", "aji"], capsys)
    assert result["missing_predictions"] == [xml.stem] and result["mean"]["aji"] == 0.0
