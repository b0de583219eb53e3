"""Seconds per 1000×1000 tile of each baseline on ONE CPU core (budget: 2 s per tile).

The process is pinned to one core (``os.sched_setaffinity``) with one torch / BLAS thread, each
segmenter is built through the registry (tuned defaults, and the stock configuration of the
classical ones) and run ``--repeats`` times on each of ``--tiles`` MoNuSeg validation tiles
after one warm-up call; the median and the best time per tile are reported, with the ratio to
the 2 s budget and to the plain ``otsu`` floor timed in the same process. The machine is shared,
so the 1-minute load average before and after is recorded too. Written to
``benchmarks/results/baselines_speed.json``.

Usage::

    .venv/bin/python benchmarks/baselines_speed.py
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

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
        per_tile = []
        for s in samples:
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                seg.segment(s.image, mpp=s.mpp)
                times.append(time.perf_counter() - t0)
            per_tile.append(times)
        flat = [t for ts in per_tile for t in ts]
        rows.append({"method": method, "variant": variant, "median_s": round(statistics.median(flat), 3),
                     "best_s": round(min(flat), 3), "worst_s": round(max(flat), 3),
                     "tiles": [s.id for s in samples], "shape": list(samples[0].image.shape)})
    floor = next(r["median_s"] for r in rows if r["method"] == "otsu" and r["variant"] == "tuned defaults")
    print(f"{'method':20s} {'variant':15s} {'median s':>9s} {'best s':>7s} {'/budget':>8s} {'/otsu':>7s}")
    for r in rows:
        r["ratio_to_budget"] = round(r["median_s"] / BUDGET_S, 3)
        r["ratio_to_otsu"] = round(r["median_s"] / floor, 2)
        r["within_budget"] = r["median_s"] < BUDGET_S
        print(f"{r['method']:20s} {r['variant']:15s} {r['median_s']:9.3f} {r['best_s']:7.3f} "
              f"{r['ratio_to_budget']:8.3f} {r['ratio_to_otsu']:7.2f}")
    record = {
        "what": "seconds per 1000x1000 MoNuSeg tile, one CPU core (affinity-pinned, 1 thread)",
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
