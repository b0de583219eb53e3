"""The suites shipped in benchmarks/ are valid: every name, parameter and file they give resolves."""

from __future__ import annotations

from pathlib import Path

import pytest

from nucbench.suite import load_suite

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.parametrize("name", ["demo", "table1", "generalisation"])
def test_suite_plans(name):
    plan = load_suite(BENCHMARKS / f"{name}.yaml")
    assert plan.runs and plan.name == name


def test_demo_runs_on_the_bundled_sample():
    plan = load_suite(BENCHMARKS / "demo.yaml")
    roots = {run.data.params["root"] for run in plan.runs}
    assert roots == {str(BENCHMARKS.parent / "data" / "sample")}
    assert {run.method for run in plan.runs} >= {"otsu", "cellprofiler-style", "fiji-style", "scale-ssl",
                                                 "supervised-unet"}


def test_benchmark_scripts_get_an_absolute_data_root(monkeypatch, tmp_path):
    """A relative NUCBENCH_DATA must not reach a dataset as a relative root (taken under itself)."""
    import sys

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NUCBENCH_DATA", "data")
    sys.modules.pop("bench_record", None)
    try:
        from bench_record import DATA, default_data_root

        assert default_data_root() == str(tmp_path.resolve() / "data")
        assert DATA == tmp_path.resolve() / "data"
    finally:
        sys.modules.pop("bench_record", None)  # imported with this test's environment
