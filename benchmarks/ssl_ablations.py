"""Tabulate the ablations of the paper's F over seeds, from the recorded curves of their runs.

Reads every ``benchmarks/results/ssl_curves/**/*.json`` written by ``ssl_curve.py --score-best``
whose run belongs to one of the configurations given (default: the paper's text ``m-faithful``,
scored with the EMA of τ and, as ``m-faithful-image``, with each image's τ; ``m-faithful-code``
and its three ablations), and writes ``benchmarks/results/ssl_ablations.{json,md}``: one row per
recorded run (seed, CPU, epochs trained, validation Dice of A after epoch 1 and at the best
epoch, the scored epoch's test metrics, compute), then mean ± std over the seeds asked for, per
configuration.

    python benchmarks/ssl_ablations.py [CONFIG ...] [--seeds 0 1 2] [--cpu "AMD EPYC, bf16"]

The runs are short (one or two epochs of a 30-epoch schedule), so the summary compares the
configurations at the start of training. Where one (configuration, seed) was recorded on several
CPUs (bf16 results differ between them), the summary takes the run of ``--cpu`` (default: the CPU
that recorded most rows) and the table keeps every run. A CPU is named with the precision it
trained in (``"AMD EPYC, bf16"``), as two Xeons of the same name differed in it.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import statistics
from pathlib import Path
from typing import Any

from bench_record import REPO, RESULTS, machine_info, write_json, write_text
from ssl_reproduce import yaml_step_tflop

CURVES = RESULTS / "ssl_curves"
SSL_CONFIGS = REPO / "benchmarks" / "ssl"
DEFAULT_CONFIGS = [
    "m-faithful",
    "m-faithful-image",
    "m-faithful-code",
    "m-sparse-faithful-code",
    "m-smooth-faithful-code",
    "m-equiv-faithful-code",
]
_SEED_SUFFIX = re.compile(r"-s\d+$")
_DTYPE = re.compile(r"'dtype': '(\w+)'")


def config_of(run: str) -> str:
    """The configuration of a run folder's name: ``NAME`` (seed 0 of ``ssl_reproduce``) or ``NAME-sN``."""
    return _SEED_SUFFIX.sub("", run)


def machine_label(curve: dict[str, Any]) -> str:
    """CPU model and the precision its training sessions ran in (``"AMD EPYC, bf16"``).

    Two CPUs with the same model name can differ in bf16 instructions and so train in different
    precisions (``precision: auto``); the precision is read from the sessions' ``train.log`` lines,
    which ``ssl_curve.py`` stores as dicts (older curves: as the logged text).
    """
    dtypes = []
    for session in curve.get("sessions", []):
        precision = session.get("precision", "")
        if isinstance(precision, dict):  # ssl_curve.py parses the logged line since 2026-12-07
            dtype = precision.get("dtype")
        else:  # curves recorded before keep the line as text
            match = _DTYPE.search(precision)
            dtype = match.group(1) if match else None
        if dtype and dtype not in dtypes:
            dtypes.append(dtype)
    cpu = curve["machine"]["cpu_model"]
    return f"{cpu}, {'+'.join(dtypes)}" if dtypes else cpu


def train_tflop(config: str, curve: dict[str, Any], configs_dir: Path = SSL_CONFIGS) -> float | None:
    """Training compute of a curve's run: its configuration's step (``step_tflop``) × the steps trained.

    Counted here from ``configs_dir/CONFIG.yaml`` rather than read from the curve, whose figure was
    fixed when it was recorded (before 2026-12-07, passes of F without gradient were counted as
    forward and backward; older curves have none); a curve whose YAML is gone keeps its own.
    """
    path = configs_dir / f"{config}.yaml"
    if not path.exists() or not curve["epochs"] or "step" not in curve["epochs"][-1]:
        return curve.get("train_tflop")
    return yaml_step_tflop(path) * curve["epochs"][-1]["step"]


def collect(
    configs: list[str], curves_dir: Path = CURVES, configs_dir: Path = SSL_CONFIGS
) -> list[dict[str, Any]]:
    """One row per scored curve of `configs`, ordered by configuration, seed and CPU."""
    rows = []
    for path in sorted(curves_dir.rglob("*.json")):
        curve = json.loads(path.read_text())
        config = config_of(curve["run"])
        scored = curve.get("best_so_far_scored")
        if config not in configs or scored is None:
            continue
        epochs = curve["epochs"]
        rows.append({
            "config": config,
            "seed": curve["seed"],
            "cpu": machine_label(curve),
            "epochs_done": curve["epochs_done"],
            "val_dice_epoch1": epochs[0]["val_dice"],
            "attended_epoch1": epochs[0].get("val_attended_fraction"),
            "best_val_dice": curve["best_val_dice_so_far"],
            "scored_epoch": scored["epoch"],
            "test": scored["test"],
            "train_tflop": train_tflop(config, curve, configs_dir),
            "train_hours": curve["train_seconds"] / 3600,
            "source": str(path.relative_to(curves_dir)),
        })
    rows.sort(key=lambda r: (configs.index(r["config"]), r["seed"], r["cpu"]))
    return rows


def summarise(
    rows: list[dict[str, Any]], configs: list[str], seeds: list[int], cpu: str
) -> list[dict[str, Any]]:
    """Mean ± std over `seeds` per configuration, one run per seed (that of `cpu` where there are several)."""
    out = []
    for config in configs:
        by_seed: dict[int, dict[str, Any]] = {}
        for row in rows:
            if row["config"] != config or row["seed"] not in seeds:
                continue
            if row["seed"] not in by_seed or row["cpu"] == cpu:
                by_seed[row["seed"]] = row
        runs = [by_seed[s] for s in sorted(by_seed)]
        if not runs:
            continue
        out.append({
            "config": config,
            "seeds": sorted(by_seed),
            "val_dice_epoch1": mean_std([r["val_dice_epoch1"] for r in runs]),
            "test_aji": mean_std([r["test"]["aji"] for r in runs]),
            "test_pq": mean_std([r["test"]["pq"] for r in runs]),
            "seeds_aji_at_least_0.30": sum(r["test"]["aji"] >= 0.30 for r in runs),
        })
    return out


def mean_std(values: list[float]) -> dict[str, float]:
    """Mean and sample standard deviation (0 for one value)."""
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def format_mean_std(stat: dict[str, float], n: int) -> str:
    """``mean ± std`` of `n` values, or the mean alone for one."""
    return f"{stat['mean']:.3f} ± {stat['std']:.3f}" if n > 1 else f"{stat['mean']:.3f}"


def markdown(
    rows: list[dict[str, Any]], summary: list[dict[str, Any]], seeds: list[int], cpu: str,
    machine: dict[str, Any],
) -> str:
    lines = [
        f"Generated by `{machine['command']}` at {machine['git_commit']} from the curves in "
        "`benchmarks/results/ssl_curves/`.",
        "",
        "| configuration | seed | CPU | epochs | val Dice epoch 1 | attended epoch 1 | best val Dice | "
        "scored epoch | test AJI | test PQ | train TFLOP | train h |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        attended = "—" if r["attended_epoch1"] is None else f"{r['attended_epoch1']:.3f}"
        tflop = "—" if r["train_tflop"] is None else f"{r['train_tflop']:.0f}"
        lines.append(
            f"| {r['config']} | {r['seed']} | {r['cpu']} | {r['epochs_done']} | {r['val_dice_epoch1']:.3f} | "
            f"{attended} | {r['best_val_dice']:.3f} | {r['scored_epoch']} | {r['test']['aji']:.4f} | "
            f"{r['test']['pq']:.4f} | {tflop} | {r['train_hours']:.2f} |"
        )
    lines += [
        "",
        f"Over seeds {', '.join(map(str, seeds))} (one run per seed; the {cpu} run where a seed ran on "
        "several CPUs):",
        "",
        "| configuration | seeds | val Dice epoch 1 | test AJI | test PQ | seeds with AJI ≥ 0.30 |",
        "|---|---|---|---|---|---|",
    ]
    for s in summary:
        n = len(s["seeds"])
        stats = " | ".join(format_mean_std(s[key], n) for key in ("val_dice_epoch1", "test_aji", "test_pq"))
        lines.append(
            f"| {s['config']} | {', '.join(map(str, s['seeds']))} | {stats} | "
            f"{s['seeds_aji_at_least_0.30']} of {n} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", default=DEFAULT_CONFIGS, metavar="CONFIG",
                        help=f"configuration names (default: {', '.join(DEFAULT_CONFIGS)})")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="seeds the summary averages over (default 0 1 2; the table lists every run)")
    parser.add_argument("--cpu", help="CPU model and precision, as the table names them, whose run a "
                                      "seed takes when it ran on several (default: the one with most rows)")
    parser.add_argument("--out", type=Path, default=RESULTS / "ssl_ablations.json", help="JSON to write")
    args = parser.parse_args(argv)
    rows = collect(args.configs)
    if not rows:
        raise SystemExit(f"no scored curves of {', '.join(args.configs)} under {CURVES}")
    cpu = args.cpu or collections.Counter(r["cpu"] for r in rows).most_common(1)[0][0]
    summary = summarise(rows, args.configs, args.seeds, cpu)
    machine = machine_info()
    record = {"seeds": args.seeds, "cpu": cpu, "runs": rows, "summary": summary, "machine": machine}
    write_json(args.out, record)
    text = markdown(rows, summary, args.seeds, cpu, machine)
    md = args.out.with_suffix(".md")
    write_text(md, text)
    print(text, end="")
    print(f"wrote {args.out} and {md}")


if __name__ == "__main__":
    main()
