"""``nucbench evaluate --pred DIR --gt GT``: score predicted label images against ground truth."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "evaluate", parents=[common], help="score predicted label images against ground truth",
        description="Score predicted instance labels (DIR/<id>.png, .tif, .tiff or .npy) against "
                    "ground truth and print a per-image table with the dataset mean (and the "
                    "pooled value of AJI, AJI+ and Dice). A missing prediction is listed and "
                    "scored as an empty one; a prediction without ground truth is listed and "
                    "ignored.",
    )
    parser.add_argument("--pred", required=True, type=Path, metavar="DIR",
                        help="folder of predicted label images, named after the ground truth ids")
    parser.add_argument("--gt", required=True, metavar="GT",
                        help="a folder of MoNuSeg .xml annotations, a folder of label images, or a "
                             "registered dataset: NAME or NAME:SPLIT (e.g. monuseg:test)")
    parser.add_argument("--gt-param", action="append", default=[], metavar="KEY=VALUE",
                        help="dataset parameter when GT is a dataset (e.g. root=/data); repeatable")
    parser.add_argument("--metric", action="append", metavar="NAME",
                        help="metric to compute (repeatable; default: every registered metric)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.set_defaults(func=run)


def _format(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.4f}"


def _table(result) -> str:
    names = list(result.metrics)
    summary = result.summary()
    rows = [(s.image_id + (" *" if s.missing else ""), [_format(s.values[n]) for n in names])
            for s in result.images]
    rows.append(("mean", [_format(summary["mean"][n]) for n in names]))
    if summary["pooled"]:
        rows.append(("pooled", [_format(summary["pooled"][n]) if n in summary["pooled"] else ""
                                for n in names]))
    arrows = ["↑" if result.metrics[n].higher_is_better else "↓" for n in names]
    width = max(len(label) for label, _ in rows + [("image", [])])
    cols = [max([len(n)] + [len(cells[i]) for _, cells in rows]) for i, n in enumerate(names)]

    def line(label: str, cells: list[str]) -> str:
        return "  ".join([f"{label:<{width}}"] + [f"{c:>{w}}" for c, w in zip(cells, cols, strict=True)])

    lines = [line("image", names), line("", arrows)] + [line(label, cells) for label, cells in rows]
    notes = [f"{len(result.images)} image(s); ground truth {result.ground_truth}; "
             f"predictions {result.predictions}; ↑ higher is better, ↓ lower is better"]
    if summary["pooled"]:
        notes.append("pooled = Σ numerators / Σ denominators over all images "
                     "(AJI: total intersection / total union)")
    if result.missing:
        notes.append(f"* missing prediction, scored as empty ({len(result.missing)}): "
                     + ", ".join(result.missing))
    if result.extra:
        notes.append(f"predictions without ground truth, ignored ({len(result.extra)}): "
                     + ", ".join(result.extra))
    return "\n".join(lines + [""] + notes)


def run(args: argparse.Namespace) -> int:
    from nucbench.cliparams import parse_key_values
    from nucbench.evaluate import evaluate_folder

    gt_params = parse_key_values(args.gt_param, "--gt-param")
    result = evaluate_folder(args.pred, args.gt, args.metric, gt_params=gt_params,
                             progress=sys.stderr.isatty())
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(_table(result))
    return 0
