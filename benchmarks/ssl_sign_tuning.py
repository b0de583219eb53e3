"""Does choosing the sign of F's confidence on the validation tiles rescue an inverted faithful run?

Seeds of the paper's F that end up lighting everything but the nuclei (docs/reproduction.md, "The seed
lottery") still order the pixels: their *least* confident 7 % match the nuclei. ``tune_polarity``
(:func:`nucbench.train.tune_post_processor`) scores the post-processing grid on the attention of
both the confidence and its negation and keeps the better on the validation tiles, as every other
post-processing choice is kept. For each run folder this scores a copy of ``best.pt`` both ways —
the trained sign only (as ``ssl_curve.py --score-best`` does) and with ``tune_polarity`` — on the
14 MoNuSeg test tiles, and reads the label-free hematoxylin probe's verdict on the trained F
(``nucbench_scale_ssl.polarity.probe_contrast``: positive means F points at nuclei) for comparison.
Writes ``benchmarks/results/ssl_sign_tuning.{json,md}``, merging runs by name:

    python benchmarks/ssl_sign_tuning.py runs/m-faithful-code-s1 [runs/… …]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch
from bench_record import RESULTS, machine_info, write_json, write_text
from ssl_ablations import machine_label
from ssl_curve import read_curve, score_best

from nucbench.config import ExperimentConfig
from nucbench.train import load_attention

OUT = RESULTS / "ssl_sign_tuning.json"


def probe_reading(best: Path) -> float:
    """The hematoxylin probe's contrast of the trained F (standard deviations; > 0: on the nuclei)."""
    from nucbench_scale_ssl.polarity import probe_contrast

    state = torch.load(best, map_location="cpu", weights_only=True)
    backbone, _ = load_attention(state)  # the stored sign changes the activation only, not F
    return probe_contrast(backbone)


def score_run(run_dir: Path) -> dict[str, Any]:
    """One run: its first epoch's record, then test figures with the trained sign and with the tuned one."""
    curve = read_curve(run_dir)
    config = ExperimentConfig.model_validate_json((run_dir / "config.json").read_text())
    best = torch.load(run_dir / "best.pt", map_location="cpu", weights_only=True)
    trained = score_best(run_dir, config.model_copy(update={"tune_polarity": False}))
    tuned = score_best(run_dir, config.model_copy(update={"tune_polarity": True}))
    return {
        "run": curve["run"],
        "seed": curve["seed"],
        "best_epoch": int(best["epoch"]),
        "val_dice": float(best["val_dice"]),
        "sessions": curve["sessions"],
        "probe_contrast": probe_reading(run_dir / "best.pt"),
        "trained_sign": trained,
        "tuned_sign": tuned,
        "train_seconds": curve["train_seconds"],
    }


def table(runs: list[dict[str, Any]]) -> str:
    lines = [
        "| run | seed | epoch | val Dice (A) | probe contrast | sign chosen | val AJI, trained / tuned sign "
        "| test AJI, trained / tuned sign | test PQ, trained / tuned sign | CPU |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(runs, key=lambda r: (r["run"].rsplit("-s", 1)[0], r["seed"])):
        a, b = r["trained_sign"], r["tuned_sign"]
        lines.append(
            f"| `{r['run']}` | {r['seed']} | {r['best_epoch']} | {r['val_dice']:.3f} "
            f"| {r['probe_contrast']:+.2f} | {b['post_processor']['confidence_sign']:+d} "
            f"| {a['post_processor']['val_aji']:.4f} / {b['post_processor']['val_aji']:.4f} "
            f"| {a['test']['aji']:.4f} / {b['test']['aji']:.4f} "
            f"| {a['test']['pq']:.4f} / {b['test']['pq']:.4f} | {machine_label(r)} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dirs", nargs="+", type=Path, help="`nucbench train` output folders")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    previous = json.loads(args.out.read_text())["runs"] if args.out.is_file() else []
    machine = machine_info()
    scored = []
    for run_dir in args.run_dirs:
        row = score_run(run_dir)
        row["machine"] = machine
        scored.append(row)
        print(f"{row['run']}: {json.dumps({k: row[k] for k in ('val_dice', 'probe_contrast')})}", flush=True)
    names = {r["run"] for r in scored}
    runs = [r for r in previous if r["run"] not in names] + scored
    command = "python benchmarks/ssl_sign_tuning.py " + " ".join(sys.argv[1:] if argv is None else argv)
    write_json(args.out, {"command": command, "runs": runs})
    md = args.out.with_suffix(".md")
    write_text(
        md,
        "# Choosing the sign of F's confidence on the validation tiles\n\n"
        "Runs scored by `python benchmarks/ssl_sign_tuning.py RUN_DIR …` "
        f"(latest: {machine['date_utc']}, commit {machine['git_commit']}). "
        "Each run was trained with `nucbench train`; test figures "
        "are on the 14 MoNuSeg test tiles, post-processing tuned on the 11 validation tiles.\n\n"
        + table(runs),
    )
    print(table(runs))
    print(f"wrote {args.out} and {md}")


if __name__ == "__main__":
    main()
