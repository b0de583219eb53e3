"""``nucbench segment`` with slide inputs: outputs, and one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest

from nucbench.cli import main

from .conftest import PLUGIN_FILE


def _segment(*args):
    return main(["segment", *map(str, args), "--method", "test-dark-threshold", "--plugin", str(PLUGIN_FILE)])


def test_segment_slide_cli(synthetic_slide, tmp_path, capsys):
    out = tmp_path / "out"
    code = _segment(synthetic_slide.path, "--out", out, "--tile-size", 128, "--overlap", 24)
    assert code == 0
    printed = capsys.readouterr().out
    assert "14 nuclei from 20 tissue tiles (20 segmented now) at 40x" in printed
    features = json.loads((out / "synthetic.geojson").read_text(encoding="utf-8"))["features"]
    assert len(features) == 14
    assert (out / "synthetic.csv").is_file() and (out / "synthetic.overlay.png").is_file()


def test_segment_slide_cli_region_and_magnification(synthetic_slide, tmp_path, capsys):
    out = tmp_path / "out"
    code = _segment(synthetic_slide.path, "--out", out, "--region", "95,20,400,400", "--magnification", 20,
                    "--tile-size", 64, "--overlap", 12)
    assert code == 0
    assert "8 nuclei" in capsys.readouterr().out


@pytest.mark.parametrize(("make", "extra", "message"), [
    (lambda d, s: d / "missing.svs", [], "missing.svs: no such file"),
    (lambda d, s: _text(d / "notes.svs"), [], "notes.svs: unsupported slide format"),
    (lambda d, s: s.path, ["--region", "600,400,100,100"], "is outside the slide"),
    (lambda d, s: s.path, ["--region", "1,2,3"], "--region '1,2,3': expected four integers"),
    (lambda d, s: s.path, ["--workers", "2", "--executor", "local"], "need --executor dask"),
])
def test_segment_slide_cli_errors(synthetic_slide, tmp_path, capsys, make, extra, message):
    path = make(tmp_path, synthetic_slide)
    out = tmp_path / "out"
    assert _segment(path, "--out", out, *extra) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_tcga_without_mpp_cli(wsi_root, tmp_path, capsys):
    out = tmp_path / "out"
    assert _segment(wsi_root / "TCGA-CR-7395-01A-01-TS1.svs", "--out", out) == 2
    assert "give its level-0 resolution with --mpp" in capsys.readouterr().err
    assert not out.exists()


def _text(path):
    path.write_text("not a slide")
    return path
