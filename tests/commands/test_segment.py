"""``nucbench segment``: image files and folders → label images, resumable, with clear errors."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest
from PIL import Image

from nucbench.cli import main
from nucbench.data.io import read_label_image
from nucbench.segment import InputKind, classify_input, segment_paths


def write_rgb(path, dark_boxes, shape=(24, 32)):
    """A white RGB image with black rectangles (r0, r1, c0, c1)."""
    image = np.full((*shape, 3), 255, np.uint8)
    for r0, r1, c0, c1 in dark_boxes:
        image[r0:r1, c0:c1] = 0
    if path.suffix.lower() in (".tif", ".tiff"):
        import tifffile

        tifffile.imwrite(path, image)
    else:
        Image.fromarray(image).save(path, quality=100)
    return path


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "tiles"
    folder.mkdir()
    write_rgb(folder / "a.png", [(2, 6, 2, 6), (10, 14, 20, 30)])  # 2 objects
    write_rgb(folder / "b.tif", [(0, 24, 0, 4)])                  # 1 object touching the border
    (folder / "notes.txt").write_text("not an image")              # ignored inside a folder
    single = write_rgb(tmp_path / "c.jpg", [(5, 15, 5, 15)])      # 1 object
    return folder, single


def plugin_module():
    return sys.modules["nucbench_file_plugin_segmenters_plugin"]


def test_segment_folder_and_file_then_resume(inputs, plugin_file, tmp_path, capsys):
    folder, single = inputs
    out = tmp_path / "out"
    args = ["segment", str(folder), str(single), "--method", "dark", "--out", str(out),
            "--plugin", str(plugin_file), "--param", "threshold=128", "--mpp", "0.25"]
    assert main(args) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.png"]
    a = read_label_image(out / "a.png")
    assert a.shape == (24, 32) and np.unique(a).tolist() == [0, 1, 2]
    assert Image.open(out / "a.png").mode in ("I;16", "I")  # 16-bit PNG
    assert np.unique(read_label_image(out / "c.png")).tolist() == [0, 1]
    calls = plugin_module().CALLS
    assert len(calls) == 3 and calls[0][1] == 0.25
    assert "3 label image(s)" in capsys.readouterr().out
    # Run again: everything is done, nothing is segmented; --overwrite redoes all.
    assert main(args) == 0
    assert len(plugin_module().CALLS) == 3
    assert main(args + ["--overwrite"]) == 0
    assert len(plugin_module().CALLS) == 6


def test_more_than_65535_ids_are_written_as_32_bit_tiff(inputs, plugin_file, tmp_path):
    folder, _ = inputs
    out = tmp_path / "out"
    assert main(["segment", str(folder / "a.png"), "--method", "dark", "--param", "offset=70000",
                 "--out", str(out), "--plugin", str(plugin_file)]) == 0
    assert [p.name for p in out.iterdir()] == ["a.tif"]
    assert read_label_image(out / "a.tif").max() == 70002
    # a rerun with --overwrite that fits 16 bits replaces the stale .tif by a .png
    assert main(["segment", str(folder / "a.png"), "--method", "dark", "--out", str(out),
                 "--plugin", str(plugin_file), "--overwrite"]) == 0
    assert [p.name for p in out.iterdir()] == ["a.png"]


def test_checkpoint_is_passed_to_the_segmenter(inputs, plugin_file, tmp_path):
    _, single = inputs
    weights = tmp_path / "weights.pt"
    weights.write_bytes(b"x")
    assert main(["segment", str(single), "--method", "dark", "--checkpoint", str(weights),
                 "--out", str(tmp_path / "out"), "--plugin", str(plugin_file)]) == 0
    assert plugin_module().CALLS[-1][2] == str(weights)


@pytest.mark.parametrize(("method", "message"), [
    ("floaty", r"segmenter 'floaty' returned float64 for .*a.png; expected integer labels \(24×32\)"),
    ("cropped", r"segmenter 'cropped' returned shape \(3, 3\) for .*a.png; expected integer labels"),
])
def test_a_broken_segmenter_is_named_and_nothing_is_written(inputs, plugin_file, tmp_path, capsys,
                                                           method, message):
    folder, _ = inputs
    out = tmp_path / "out"
    assert main(["segment", str(folder), "--method", method, "--out", str(out),
                 "--plugin", str(plugin_file)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert re.search(message, err), err
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(("extra", "message"), [
    (["--method", "drak"], "unknown segmenter 'drak'. Did you mean 'dark'?"),
    (["--method", "dark", "--param", "treshold=3"], "parameter 'treshold'. Did you mean 'threshold'?"),
    (["--method", "dark", "--param", "threshold"], "--param 'threshold': expected KEY=VALUE"),
    (["--method", "dark", "--param", "threshold=many"], "parameter 'threshold'"),
    (["--method", "floaty", "--checkpoint", "{weights}"], "segmenter 'floaty' takes no checkpoint"),
    (["--method", "dark", "--checkpoint", "{missing}"], "no-weights.pt: no such file"),
])
def test_bad_options_are_one_line_errors(inputs, plugin_file, tmp_path, capsys, extra, message):
    _, single = inputs
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"x")
    extra = [e.format(weights=weights, missing=tmp_path / "no-weights.pt") for e in extra]
    assert main(["segment", str(single), "--out", str(tmp_path / "out"), "--plugin", str(plugin_file),
                 *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_bad_inputs_are_one_line_errors(tmp_path, plugin_file, capsys):
    (tmp_path / "x.bmp").write_bytes(b"BM")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    (tmp_path / "slide.svs").write_bytes(b"")
    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").mkdir()
    write_rgb(tmp_path / "d1" / "same.png", [])
    write_rgb(tmp_path / "d2" / "same.jpg", [])
    cases = [
        (tmp_path / "nope.png", "nope.png: no such file or folder"),
        (tmp_path / "x.bmp", "unsupported input format '.bmp'"),
        (tmp_path / "broken.png", "broken.png: cannot read it as an image"),
        (tmp_path / "slide.svs", "slide.svs: "),  # dispatched to the whole-slide path, which refuses it
    ]
    for path, message in cases:
        assert main(["segment", str(path), "--method", "dark", "--out", str(tmp_path / "out"),
                     "--plugin", str(plugin_file)]) == 2
        assert message in capsys.readouterr().err
    assert main(["segment", str(tmp_path / "d1"), str(tmp_path / "d2"), "--method", "dark",
                 "--out", str(tmp_path / "out"), "--plugin", str(plugin_file)]) == 2
    assert "the same name 'same'" in capsys.readouterr().err


def test_classify_input(tmp_path):
    (tmp_path / "a.TIFF").touch()
    (tmp_path / "b.ndpi").touch()
    assert classify_input(tmp_path) is InputKind.FOLDER
    assert classify_input(tmp_path / "a.TIFF") is InputKind.IMAGE
    assert classify_input(tmp_path / "b.ndpi") is InputKind.SLIDE


def test_segment_paths_api(inputs, tmp_path):
    folder, _ = inputs

    class Everything:
        def segment(self, image, *, mpp=None):
            return np.ones(image.shape[:2], np.uint16)

    written = segment_paths(Everything(), [folder], tmp_path / "out", progress=False)
    assert [p.name for p in written] == ["a.png", "b.png"]
    assert (read_label_image(written[1]) == 1).all()
