"""Run the ``benchmarks/baselines.yaml`` suite and write the baselines' results table.

The suite (every baseline, tuned and stock, on the MoNuSeg val and test tiles, metrics from the
registry) is run through nucbench's suite runner with its MLflow tracker, exactly as
``nucbench run benchmarks/baselines.yaml`` does; runs already recorded in the tracking store are
not redone (``--rerun`` redoes them). Then ``benchmarks/results/baselines.md`` and
``benchmarks/results/baselines.json`` are written: the mean of each metric per method and
dataset, next to the paper's Table 1 rows, with the machine and the commit; the suite's own
comparison files go to ``benchmarks/results/baselines/``.

Usage::

    .venv/bin/python benchmarks/baselines_evaluate.py [--rerun] [--tracking-uri URI]
"""

from __future__ import annotations

import argparse
import os
import time

from bench_record import REPO, RESULTS, default_data_root, machine_info, write_json, write_text

SUITE = REPO / "benchmarks" / "baselines.yaml"

#: Sahasrabudhe et al., MICCAI 2020, Table 1 (MoNuSeg test, 14 images): AJI / AHD / ADC.
PAPER_ROWS = [
    ("CellProfiler (paper)", 0.1232, 9.28, 0.5974),
    ("Fiji (paper)", 0.2733, 8.95, 0.6493),
    ("CNN3, supervised (paper)", 0.5083, None, None),
    ("best supervised (paper)", 0.691, None, None),
    ("M-proposed, self-supervised (paper)", 0.5354, 7.75, 0.7477),
]

COLUMNS = ["aji", "aji-plus", "ahd", "adc", "pq", "dq", "sq"]


def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if metric == "ahd" else f"{value:.4f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rerun", action="store_true", help="redo runs already recorded")
    p.add_argument("--tracking-uri", default=f"sqlite:///{REPO / 'runs' / 'baselines' / 'mlflow.db'}")
    args = p.parse_args(argv)
    if not os.environ.get("NUCBENCH_DATA") and default_data_root():
        os.environ["NUCBENCH_DATA"] = default_data_root()
    (REPO / "runs" / "baselines").mkdir(parents=True, exist_ok=True)

    from nucbench.commands.run import write_files
    from nucbench.compare import comparison_files
    from nucbench.suite import clear_cache, create_executor, create_tracker, load_suite, run_suite

    plan = load_suite(SUITE)
    tracker = create_tracker(plan.config.tracking, uri=args.tracking_uri, source=plan.source)
    tracker.check()
    executor = create_executor(plan.config.executor, source=plan.source)
    start = time.perf_counter()
    try:
        outcome = run_suite(plan, executor=executor, tracker=tracker, rerun=args.rerun, progress=True)
    finally:
        executor.close()
        clear_cache()
    if outcome.failed:
        for r in outcome.failed:
            print(f"FAILED: {r.error}")
        return 1
    if outcome.comparison is not None:
        write_files(RESULTS / "baselines", comparison_files(outcome.comparison, plan.higher_is_better))

    rows = []
    for record in outcome.records:
        m = dict(record.metrics)
        rows.append({"method": record.method, "dataset": record.dataset, "run_id": record.run_id,
                     "config_hash": record.config_hash,
                     **{k: m.get(k) for k in COLUMNS},
                     "segment_s_mean": m.get("time/segment_s_mean")})
    per_image = {f"{r.method} | {r.dataset}": r.per_image for r in outcome.results}

    lines = [
        "# Baselines on MoNuSeg",
        "",
        "Produced by `.venv/bin/python benchmarks/baselines_evaluate.py` (suite `benchmarks/baselines.yaml`,",
        "metrics from the registry, mean over images). Classical baselines tuned on the 11 validation",
        "tiles only (`benchmarks/results/baselines_tuning.json`); *(stock)* = untuned defaults",
        "(CellProfiler's / Fiji's own settings, the U-Net's untuned post-processing). The supervised",
        "U-Net was trained on the 19 training tiles only. AHD: lower is better. The validation rows",
        "of the tuned methods are in-sample (they were tuned on those tiles).",
        "",
    ]
    datasets = sorted(dict.fromkeys(r["dataset"] for r in rows), key=lambda d: not d.endswith("test"))
    for dataset in datasets:  # the held-out test tiles first
        lines += [f"## {dataset}", "",
                  "| method | " + " | ".join(c.upper() for c in COLUMNS) + " | s / image |",
                  "|---|" + "---|" * (len(COLUMNS) + 1)]
        for r in (r for r in rows if r["dataset"] == dataset):
            secs = r["segment_s_mean"]
            lines.append(f"| {r['method']} | " + " | ".join(_fmt(r[c], c) for c in COLUMNS)
                         + f" | {'–' if secs is None else f'{secs:.2f}'} |")
        if dataset.endswith("test"):
            for name, aji, ahd, adc in PAPER_ROWS:
                lines.append(f"| *{name}* | {_fmt(aji, 'aji')} | – | {_fmt(ahd, 'ahd')} | {_fmt(adc, 'adc')} "
                             "| – | – | – | – |")
        lines.append("")
    machine = machine_info()
    lines += [f"Machine: {machine['cpu_model']}, {machine['platform']}, torch {machine['torch']} "
              f"({machine['torch_cpu_capability']}); {machine['date_utc']}; commit {machine['git_commit']}.",
              "Seconds per image are wall time on a shared 2-core machine (see "
              "`benchmarks/results/baselines_speed.json` for the one-core timing).", ""]
    md = RESULTS / "baselines.md"
    write_text(md, "\n".join(lines))
    write_json(RESULTS / "baselines.json", {
        "what": "baselines on MoNuSeg val and test (suite benchmarks/baselines.yaml)",
        "rows": rows,
        "paper_rows": [{"method": n, "aji": a, "ahd": h, "adc": d} for n, a, h, d in PAPER_ROWS],
        "per_image": per_image,
        "tracking_uri": args.tracking_uri,
        "suite_wall_s": round(time.perf_counter() - start, 1),
        "machine": machine,
    })
    print("\n".join(lines))
    print(f"wrote {md} and {RESULTS / 'baselines.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
