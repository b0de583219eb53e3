"""The training curve of a self-supervised run, finished or still in progress, as a result file.

A run longer than a session (the faithful configuration: about 6 h on 2 CPU cores) is trained with
``nucbench train CONFIG --resume`` over several sessions; until it ends, ``ssl_reproduce.py`` has no
test figure for it. This records what the run has so far, from its own files: every epoch's loss
terms, validation Dice of A and validation scale accuracy (``history.jsonl``), the best epoch so far,
the training sessions (each start or resume logs its precision line in ``train.log``), the training
seconds, the training compute so far (TFLOP, counted as ``ssl_reproduce.py`` counts it) and the time
left at the mean epoch time.

    python benchmarks/ssl_curve.py runs/m-faithful-code [--score-best]

``--score-best`` also scores the best checkpoint so far as the finished run will be scored
(a copy, so the run's files are untouched): post-processing tuned on the validation tiles
(:func:`nucbench.train.tune_post_processor`), then ``scale-ssl`` on the 14 test tiles and
``nucbench evaluate``. It is an interim figure, labelled with its epoch: the run may still find a
better epoch. Writes ``benchmarks/results/ssl_curves/<run name>.json`` and ``.md`` (the table).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_record import DATA, RESULTS, machine_info, write_json, write_text
from ssl_reproduce import step_tflop

from nucbench.config import ExperimentConfig
from nucbench.train import selection_dice

OUT_DIR = RESULTS / "ssl_curves"
COLUMNS = ["epoch", "step", "loss/scale", "val_dice", "val_scale_accuracy", "train_seconds"]
_START = re.compile(r"^(\S+ \S+) INFO precision: (.*)$")


def parse_precision(text: str) -> dict[str, Any] | str:
    """The precision dict that ``nucbench train`` logs (``{'device': 'cpu', 'dtype': 'fp32', ...}``),
    or the line itself where it is not a Python literal of a dict."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value if isinstance(value, dict) else text


def read_curve(run_dir: Path) -> dict[str, Any]:
    """The run's configuration, epochs so far, sessions and time left (no machine or date)."""
    run_dir = Path(run_dir)
    config_path, history_path = run_dir / "config.json", run_dir / "history.jsonl"
    for path in (config_path, history_path):
        if not path.is_file():
            raise SystemExit(f"{run_dir}: no {path.name}; is this a `nucbench train` run folder?")
    config = json.loads(config_path.read_text())
    history = [json.loads(line) for line in history_path.read_text().splitlines() if line.strip()]
    log = run_dir / "train.log"
    sessions = []
    if log.is_file():
        for line in log.read_text().splitlines():
            match = _START.match(line)
            if match:
                sessions.append({"started": match.group(1), "precision": parse_precision(match.group(2))})
    planned = int(config["epochs"])
    seconds = [h["train_seconds"] for h in history]
    best = max(history, key=selection_dice) if history else None
    remaining = planned - len(history)
    return {
        "run": config["name"],
        "seed": config["seed"],
        "epochs_planned": planned,
        "epochs_done": len(history),
        "finished": (run_dir / "tuning.json").is_file(),
        "best_epoch_so_far": best["epoch"] if best else None,
        "best_val_dice_so_far": best["val_dice"] if best else None,
        "train_seconds": sum(seconds),
        "estimated_hours_left": statistics.fmean(seconds) * remaining / 3600 if seconds else None,
        "sessions": sessions,
        "epochs": history,
    }


def score_best(run_dir: Path, config: ExperimentConfig) -> dict[str, Any]:
    """Tune a copy of ``best.pt`` on the validation tiles and score it on the MoNuSeg test tiles
    (`config`: the run's own, from its ``config.json``)."""
    import torch

    from nucbench.data.stain import reinhard_normalise
    from nucbench.evaluate import evaluate_folder
    from nucbench.plugins import get_plugin_manager
    from nucbench.segment import segment_paths
    from nucbench.train import tune_post_processor

    run_dir = Path(run_dir)
    manager = get_plugin_manager()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        best = Path(tmp) / "best.pt"
        shutil.copy2(run_dir / "best.pt", best)
        epoch = int(torch.load(best, map_location="cpu", weights_only=True)["epoch"])
        dataset = manager.create("dataset", config.val_data.name, **config.val_data.params)
        images = [dataset[i].image for i in range(len(dataset))]
        if config.stain_normalize:
            images = [reinhard_normalise(image) for image in images]
        chosen = tune_post_processor(best, config, images, manager=manager, progress=False)
        segmenter = manager.create("segmenter", "scale-ssl", checkpoint=str(best))
        pred = Path(tmp) / "test_pred"
        test = DATA / "monuseg" / "test"
        segment_paths(segmenter, [test / "images"], pred, name="scale-ssl", progress=False)
        metrics = ["aji", "ahd", "adc", "pq", "dice"]
        summary = evaluate_folder(pred, test / "annotations", metrics, progress=False).summary()
    return {
        "epoch": epoch,
        "post_processor": chosen,
        "test": {**summary["mean"], "aji_pooled": summary["pooled"].get("aji")},
        "seconds": time.perf_counter() - started,
    }


def table(curve: dict[str, Any]) -> str:
    """Markdown: one row per epoch."""
    head = (
        f"`{curve['run']}` (seed {curve['seed']}): {curve['epochs_done']} of {curve['epochs_planned']} "
        f"epochs, {curve['train_seconds'] / 3600:.2f} h of training"
    )
    if curve.get("train_tflop") is not None:
        head += f" ({curve['train_tflop']:.0f} TFLOP)"
    head += f" in {len(curve['sessions'])} session(s)"
    if not curve["finished"] and curve["estimated_hours_left"] is not None:
        head += f", about {curve['estimated_hours_left']:.1f} h left"
    lines = [head + "."]
    interim = curve.get("best_so_far_scored")
    if interim:
        test = interim["test"]
        lines.append(
            f"Best checkpoint so far (epoch {interim['epoch']}), post-processing tuned on validation "
            f"(val AJI {interim['post_processor']['val_aji']:.4f}): test AJI {test['aji']:.4f}, "
            f"AHD {test['ahd']:.2f}, ADC {test['adc']:.4f}, PQ {test['pq']:.4f}."
        )
    columns = list(COLUMNS)
    if any("val_dice_negated" in row for row in curve["epochs"]):  # a tune_polarity run
        columns.insert(columns.index("val_dice") + 1, "val_dice_negated")
    lines += ["", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in curve["epochs"]:
        cells = [row.get(c) for c in columns]
        lines.append("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a `nucbench train` output folder (runs/NAME)")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument("--score-best", action="store_true", help="score the best checkpoint so far on test")
    args = parser.parse_args(argv)
    curve = read_curve(args.run_dir)
    config = ExperimentConfig.model_validate_json((args.run_dir / "config.json").read_text())
    steps = curve["epochs"][-1]["step"] if curve["epochs"] else 0
    curve["train_tflop"] = step_tflop(config) * steps
    if args.score_best:
        curve["best_so_far_scored"] = score_best(args.run_dir, config)
    curve["machine"] = machine_info()
    json_path = write_json(args.out_dir / f"{curve['run']}.json", curve)
    md_path = args.out_dir / f"{curve['run']}.md"
    write_text(
        md_path,
        f"Generated by `python {' '.join(['benchmarks/ssl_curve.py', *(argv or sys.argv[1:])])}` on "
        f"{curve['machine']['date_utc']} at {curve['machine']['git_commit']}.\n\n" + table(curve),
    )
    print(table(curve))
    print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
