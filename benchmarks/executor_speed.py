"""Local vs Dask executor on a CPU-bound suite of classical baselines, in the same process.

The suite: ``otsu``, ``cellprofiler-style`` and ``fiji-style`` (their registered defaults) on the
14 MoNuSeg test tiles, scored with AJI and PQ, tracked nowhere (``tracking: none``) so that only
the work is timed. It runs alternately with the ``local`` executor (one process) and the ``dask``
executor (a LocalCluster of `--workers` processes × 1 thread), `--repeats` times each; the
fastest time of each is kept. Before the timed work, every process that will work (this one, or
each Dask worker) segments the first image of each run once, so that both executors start with
their modules imported and segmenters built. "work" is :func:`nucbench.suite.run_suite` alone;
"end to end" adds starting the executor, that warm-up and closing it, which is what
``nucbench run --executor dask`` pays (a fresh cluster imports everything in each worker). The
per-run metrics of the two executors must be identical.

Usage (from the repository root)::

    NUCBENCH_DATA=../shared/data .venv/bin/python benchmarks/executor_speed.py [--workers 2] [--repeats 2]

Writes ``benchmarks/results/executor_speed.json`` with the machine, date, commit, command, the
load average around each timing, the CPU seconds each pass used (this process and the Dask
workers), and the ratios. Read the ratio with the load: with Linux's
autogroup scheduling (``/proc/sys/kernel/sched_autogroup_enabled`` = 1, recorded) the cores are
shared fairly between sessions, not processes, so while other sessions keep the cores busy a
2-worker cluster gets no more CPU than one process, and the ratio says nothing about the executor.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench_record import machine_info, write_json

REPO = Path(__file__).resolve().parent.parent
RESULT = REPO / "benchmarks" / "results" / "executor_speed.json"

SUITE: dict[str, Any] = {
    "name": "executor-speed",
    "description": "Classical baselines on the 14 MoNuSeg test tiles (CPU-bound).",
    "datasets": [{"name": "monuseg", "label": "monuseg-test", "params": {"split": "test"}}],
    "methods": [{"segmenter": "otsu"}, {"segmenter": "cellprofiler-style"}, {"segmenter": "fiji-style"}],
    "seeds": [0],
    "metrics": ["aji", "pq"],
    "overlays": 0,
    "tracking": "none",
}


def machine() -> dict[str, Any]:
    """The shared machine record plus whether the kernel groups CPU time by session (autogroup)."""
    return {**machine_info(), "sched_autogroup_enabled": _read("/proc/sys/kernel/sched_autogroup_enabled")}


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and its reaped children (the Dask workers)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def time_once(plan: Any, tracker: Any, name: str, workers: int) -> dict[str, Any]:
    """One pass of the suite with executor `name`: seconds to start, to work, to close; the metrics."""
    from nucbench.config import ComponentSpec
    from nucbench.suite import ImageJob, clear_cache, create_executor, run_suite

    clear_cache()  # the local pass must not reuse segmenters built by an earlier pass
    load_before = os.getloadavg()[0]
    cpu_before = _cpu_seconds()
    start = time.perf_counter()
    overrides = {"n_workers": workers, "threads_per_worker": 1} if name == "dask" else {}
    executor = create_executor(ComponentSpec(name=name), overrides=overrides)
    warm = [ImageJob(i, 0, r.segmenter, r.data, r.metrics, r.seed, plan.plugins, False)
            for i, r in enumerate(plan.runs)]
    up = time.perf_counter()
    if name == "dask":
        executor.client.run(_warm_up, warm)  # on every worker
    else:
        _warm_up(warm)
    started = time.perf_counter()
    try:
        outcome = run_suite(plan, executor=executor, tracker=tracker, progress=False)
        worked = time.perf_counter()
    finally:
        executor.close()
    closed = time.perf_counter()
    cpu = _cpu_seconds() - cpu_before
    if outcome.failed:
        raise SystemExit(f"{name}: {outcome.failed[0].error}")
    return {
        "executor": name,
        "start_s": up - start,
        "warm_up_s": started - up,
        "work_s": worked - started,
        "close_s": closed - worked,
        "end_to_end_s": closed - start,
        "cpu_s": cpu,
        "load_avg_1min_before": load_before,
        "load_avg_1min_after": os.getloadavg()[0],
        "metrics": {f"{r.method}/{r.dataset}": r.metrics for r in outcome.results},
    }


def _warm_up(jobs: list[Any]) -> None:
    """Segment and score one image of each run in this process (imports, builds the segmenters)."""
    from nucbench.suite import run_image_job

    for job in jobs:
        run_image_job(job)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2,
                        help="Dask LocalCluster worker processes (default 2)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="passes per executor (default 2; the fastest is kept)")
    parser.add_argument("--out", type=Path, default=RESULT,
                        help=f"result file (default {RESULT.relative_to(REPO)})")
    args = parser.parse_args(argv)
    if not os.environ.get("NUCBENCH_DATA") and (REPO.parent / "shared" / "data").is_dir():
        os.environ["NUCBENCH_DATA"] = str(REPO.parent / "shared" / "data")

    from nucbench.config import SuiteConfig
    from nucbench.plugins import get_plugin_manager
    from nucbench.suite import create_tracker, dataset_sizes, plan_suite

    config = SuiteConfig.model_validate(SUITE)
    plan = plan_suite(config, base_dir=REPO / "benchmarks", source="executor_speed.py")
    n_images = sum(dataset_sizes(plan)[run.data] for run in plan.runs)
    tracker = create_tracker(config.tracking, manager=get_plugin_manager())
    passes = []
    for i in range(args.repeats):
        for name in ("local", "dask"):
            result = time_once(plan, tracker, name, args.workers)
            passes.append(result)
            print(f"pass {i + 1} {name:5s}: work {result['work_s']:6.1f} s, end to end "
                  f"{result['end_to_end_s']:6.1f} s, CPU {result['cpu_s']:6.1f} s "
                  f"(load {result['load_avg_1min_before']:.1f} → "
                  f"{result['load_avg_1min_after']:.1f})", flush=True)
    best = {name: min((p for p in passes if p["executor"] == name), key=lambda p: p["work_s"])
            for name in ("local", "dask")}
    identical = all(p["metrics"] == passes[0]["metrics"] for p in passes)
    work_ratio = best["local"]["work_s"] / best["dask"]["work_s"]
    e2e_ratio = (min(p["end_to_end_s"] for p in passes if p["executor"] == "local")
                 / min(p["end_to_end_s"] for p in passes if p["executor"] == "dask"))
    record = {
        "benchmark": "executor_speed",
        "machine": machine(),
        "suite": SUITE,
        "n_jobs": n_images,
        "workers": args.workers,
        "threads_per_worker": 1,
        "repeats": args.repeats,
        "passes": [{k: v for k, v in p.items() if k != "metrics"} for p in passes],
        "best_work_s": {name: best[name]["work_s"] for name in best},
        "speedup_work": work_ratio,
        "speedup_end_to_end": e2e_ratio,
        "goal": "dask with 2 workers >= 1.6x faster than local",
        "goal_met_work": work_ratio >= 1.6,
        "goal_met_end_to_end": e2e_ratio >= 1.6,
        "identical_metrics": identical,
        "metrics": passes[0]["metrics"],
    }
    write_json(args.out, record)
    print(f"{n_images} image jobs; local {best['local']['work_s']:.1f} s, dask ({args.workers} workers) "
          f"{best['dask']['work_s']:.1f} s: {work_ratio:.2f}× (end to end {e2e_ratio:.2f}×); "
          f"metrics identical: {identical}")
    print(f"written: {args.out}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
