"""The comparison table: mean ± std over seeds, rendered as text, Markdown, CSV and a PNG."""

from __future__ import annotations

import math

from nucbench.compare import (
    bar_chart_png,
    comparison_files,
    latest_finished,
    summarise,
    to_csv,
    to_markdown,
    to_text,
)
from nucbench.tracking import RunRecord


def _records():
    def rec(i, method, dataset, seed, aji, ahd, status="FINISHED"):
        return RunRecord(str(i), f"h{i}", method, dataset, seed, status, {"aji": aji, "ahd": ahd},
                         end_time=i)

    return [
        rec(1, "otsu", "test", 0, 0.50, 9.0),
        rec(2, "ssl", "test", 0, 0.40, 8.0),
        rec(3, "ssl", "test", 1, 0.70, 6.0),
        rec(4, "ssl", "test", 2, 0.80, 7.0, status="FAILED"),  # not finished: ignored
        rec(5, "otsu", "other", 0, 0.30, 5.0),
    ]


def test_mean_and_sample_std_over_seeds():
    table = summarise(latest_finished(_records()), ["aji", "ahd"], order=(["otsu", "ssl"], ["test", "other"]))
    assert [(r.method, r.dataset, r.n_seeds) for r in table.rows] == [
        ("otsu", "test", 1), ("otsu", "other", 1), ("ssl", "test", 2)]
    ssl = table.rows[2]
    # aji 0.4, 0.7: mean 0.55, sample std sqrt((0.15² + 0.15²) / 1) = 0.212132
    assert math.isclose(ssl.mean["aji"], 0.55) and math.isclose(ssl.std["aji"], 0.2121320344, rel_tol=1e-9)
    # ahd 8, 6: mean 7, std sqrt((1 + 1) / 1) = 1.41421
    assert math.isclose(ssl.mean["ahd"], 7.0) and math.isclose(ssl.std["ahd"], 2 ** 0.5)
    assert math.isnan(table.rows[0].std["aji"])  # one seed: no std


def test_latest_finished_keeps_the_newest_per_method_dataset_seed():
    old = RunRecord("a", "h", "otsu", "test", 0, "FINISHED", {"aji": 0.1}, end_time=1)
    new = RunRecord("b", "h", "otsu", "test", 0, "FINISHED", {"aji": 0.2}, end_time=2)
    assert [r.run_id for r in latest_finished([new, old])] == ["b"]


def test_renderings_mark_the_best_by_direction():
    table = summarise(latest_finished(_records()), ["aji", "ahd"], order=(["otsu", "ssl"], ["test", "other"]))
    directions = {"aji": True, "ahd": False}
    md = to_markdown(table, directions)
    lines = md.splitlines()
    assert lines[0] == "| method | dataset | seeds | aji ↑ | ahd ↓ | s/image |"
    # On 'test': AJI otsu 0.5 < ssl 0.55, AHD (lower is better) otsu 9.0 > ssl 7.0: ssl best in both;
    # 'other' has one method, so nothing is marked there.
    assert lines[2] == "| otsu | test | 1 | 0.5000 | 9.0000 | – |"
    assert lines[3] == "| otsu | other | 1 | 0.3000 | 5.0000 | – |"
    assert lines[4] == "| ssl | test | 2 | **0.5500 ± 0.2121** | **7.0000 ± 1.4142** | – |"
    text = to_text(table, directions)
    assert "7.0000 ± 1.4142 *" in text and text.splitlines()[1].startswith("------")
    csv = to_csv(table).splitlines()
    assert csv[0] == "method,dataset,n_seeds,aji_mean,aji_std,ahd_mean,ahd_std,seconds_per_image"
    assert csv[1] == "otsu,test,1,0.5,,9.0,,"
    assert bar_chart_png(table, directions)[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(comparison_files(table, directions)) == [
        "comparison.csv", "comparison.md", "comparison.png", "comparison.txt"]
