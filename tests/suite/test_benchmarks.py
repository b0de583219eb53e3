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
