"""Seconds per 1000×1000 tile of each baseline on ONE CPU core (budget: 2 s per tile).

The process is pinned to one core (``os.sched_setaffinity``) with one torch / OpenMP / BLAS
thread, each segmenter is built through the registry (tuned defaults, and the stock
configuration) and run ``--repeats`` times on each of ``--tiles`` MoNuSeg validation tiles
(1000×1000) after one warm-up call. Per call both the wall time and the process CPU time
(``time.process_time``) are taken: on a shared machine the wall time includes waiting for the
core, the CPU time does not. Medians (and the best wall time) are reported with their ratio to
the 2 s budget and to the plain ``otsu`` floor timed in the same process; the 1-minute load
average before and after is recorded too. Written to ``benchmarks/results/baselines_speed.json``.

Usage::

    .venv/bin/python benchmarks/baselines_speed.py
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy / torch are imported

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

from bench_record import RESULTS, default_data_root, machine_info, write_json  # noqa: E402

import nucbench  # noqa: E402

BUDGET_S = 2.0
METHODS = ["otsu", "cellprofiler-style", "fiji-style", "supervised-unet"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tiles", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--data-root", default=default_data_root())
    p.add_argument("--out", default=str(RESULTS / "baselines_speed.json"))
    args = p.parse_args(argv)

    import torch

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    torch.set_num_threads(1)
    from baselines_tune import stock

    data = nucbench.create("dataset", "monuseg", root=args.data_root, split="val", labels="none")
    samples = [data[i] for i in range(min(args.tiles, len(data)))]
    configs = []
    for m in METHODS:
        configs.append((m, "tuned defaults", {}))
        if stock(m):
            configs.append((m, "stock", stock(m)))

    load_before = os.getloadavg()[0]
    rows = []
    for method, variant, params in configs:
        seg = nucbench.create("segmenter", method, **params)
        seg.segment(samples[0].image, mpp=samples[0].mpp)  # warm-up (imports, allocations)
        wall, cpu = [], []
        for s in samples:
            for _ in range(args.repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                seg.segment(s.image, mpp=s.mpp)
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
        rows.append({"method": method, "variant": variant,
                     "median_wall_s": round(statistics.median(wall), 3), "best_wall_s": round(min(wall), 3),
                     "worst_wall_s": round(max(wall), 3), "median_cpu_s": round(statistics.median(cpu), 3),
                     "calls": len(wall), "tiles": [s.id for s in samples],
                     "shape": list(samples[0].image.shape)})
    floor = next(r for r in rows if r["method"] == "otsu" and r["variant"] == "tuned defaults")
    print(f"{'method':20s} {'variant':15s} {'wall s':>7s} {'cpu s':>7s} {'cpu/budget':>10s} {'cpu/otsu':>9s}")
    for r in rows:
        r["cpu_ratio_to_budget"] = round(r["median_cpu_s"] / BUDGET_S, 3)
        r["wall_ratio_to_budget"] = round(r["median_wall_s"] / BUDGET_S, 3)
        r["cpu_ratio_to_otsu"] = round(r["median_cpu_s"] / floor["median_cpu_s"], 2)
        r["within_budget_cpu"] = r["median_cpu_s"] < BUDGET_S
        r["within_budget_wall"] = r["median_wall_s"] < BUDGET_S
        print(f"{r['method']:20s} {r['variant']:15s} {r['median_wall_s']:7.3f} {r['median_cpu_s']:7.3f} "
              f"{r['cpu_ratio_to_budget']:10.3f} {r['cpu_ratio_to_otsu']:9.2f}")
    record = {
        "what": "seconds per 1000x1000 MoNuSeg tile, one CPU core (affinity-pinned, 1 thread): "
                "median wall and process CPU time per call",
        "threads": {"torch": torch.get_num_threads(),
                    **{v: os.environ[v] for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                   "MKL_NUM_THREADS")}},
        "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "budget_s": BUDGET_S,
        "results": rows,
        "load_average_1min": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "machine": machine_info(),
    }
    write_json(args.out, record)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
