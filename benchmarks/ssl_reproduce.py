"""Train (or resume) the self-supervised configurations and score them on the MoNuSeg test tiles.

For each experiment YAML and seed: ``nucbench train`` (resumed when a checkpoint exists; skipped
with ``--eval-only``), then the best checkpoint is used exactly as a user would use it,
``nucbench segment <test images> --method scale-ssl --checkpoint best.pt`` then
``nucbench evaluate`` (AJI, AHD, ADC, PQ, pixel Dice; mean over the 14 test images, and pooled AJI).
Writes ``benchmarks/results/ssl_reproduce.json`` (every run: validation Dice, held-out scale
accuracy, tuned post-processing, test metrics, training wall time and TFLOP, command) and
``benchmarks/results/ssl_table.md`` (mean ± std over seeds), and refreshes the table in README.md
between the ``ssl-results`` markers.

    python benchmarks/ssl_reproduce.py benchmarks/ssl/m-proposed-lite.yaml --seeds 0 1 2 [--eval-only]
        [--epochs N] [--out other.json]

``--epochs`` trains N epochs instead of the YAML's (a shorter study of a long configuration; the
run resumes further when N is raised later). Without a YAML it only writes the table again from
the results file, with each run's compute counted again from its YAML (:func:`refresh_compute`).

Runs are appended to / replace entries in the results file by (config, seed), so configurations
can be run one at a time. The held-out scale accuracy of the table is recomputed here for the last
epoch's F and G (``checkpoint.pt``; :func:`nucbench.train.pretext_accuracy`, attention in its
training form); ``val_scale_accuracy`` in the JSON is the value logged at the best epoch, which
runs trained before that function existed scored with the attention's inference form.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from bench_record import DATA, REPO, RESULTS, machine_info, write_json, write_text
from nucbench_scale_ssl.backbones import macs_per_pixel

from nucbench.config import ExperimentConfig, load_config
from nucbench.evaluate import evaluate_folder
from nucbench.plugins import get_plugin_manager
from nucbench.segment import segment_paths
from nucbench.train import pretext_accuracy, resolve_config_paths, train

METRICS = ["aji", "ahd", "adc", "pq", "dice"]
DEFAULT_OUT = RESULTS / "ssl_reproduce.json"
README_START, README_END = "<!-- ssl-results:start -->", "<!-- ssl-results:end -->"


def forward_gmacs(module: torch.nn.Module, size: int) -> float:
    """Multiply-adds (10⁹) of convolutions and linears in one forward pass of `module` on a `size`² image."""
    return macs_per_pixel(module, size) * size * size / 1e9


def training_tflop(
    backbone: torch.nn.Module,
    head: torch.nn.Module,
    regularizers: list,
    *,
    n_classes: int,
    batch_size: int,
    crop_size: int,
) -> float:
    """Training compute of one step in TFLOP (a multiply-add is 2 FLOP; backward ≈ 2× forward).

    F and G run forward and backward on the batch. A regularizer that runs F again declares it
    with ``backbone_passes(n_classes)`` (:class:`nucbench.BackbonePass`): each pass is counted on
    its share of the batch at its scale of the crop, a pass without gradient as a forward pass only.
    """
    f_crop = forward_gmacs(backbone, crop_size)
    forwards = 3 * (f_crop + forward_gmacs(head, crop_size))
    for term in regularizers:
        passes = getattr(term, "backbone_passes", None)
        if not term.weight or passes is None:
            continue
        for extra in passes(n_classes):
            side = round(crop_size * extra.scale)
            f_pass = f_crop if side == crop_size else forward_gmacs(backbone, side)
            forwards += (3 if extra.gradient else 1) * extra.share * f_pass
    return 2 * batch_size * forwards / 1e3


def step_tflop(config: ExperimentConfig) -> float:
    """:func:`training_tflop` of a configuration's F, G and regularizers."""
    manager = get_plugin_manager()
    backbone = manager.create("attention-backbone", config.backbone.name, **config.backbone.params)
    task = manager.create("pretext-task", config.pretext_task.name, **config.pretext_task.params)
    regularizers = [manager.create("regularizer", r.name, **r.params) for r in config.regularizers]
    return training_tflop(
        backbone,
        task.build_head(),
        regularizers,
        n_classes=task.n_classes,
        batch_size=config.batch_size,
        crop_size=config.crop_size,
    )


def run_one(config_path: Path, seed: int, *, eval_only: bool, epochs: int | None = None) -> dict:
    base = resolve_config_paths(load_config(config_path, ExperimentConfig), config_path)
    name = base.name if seed == base.seed else f"{base.name}-s{seed}"  # the YAML's own seed keeps its name
    update: dict = {"seed": seed, "name": name}
    if epochs is not None:
        update["epochs"] = epochs
    config = base.model_copy(update=update)
    run_dir = Path(config.output_dir) / config.name
    started = time.perf_counter()
    if not eval_only:
        checkpoint = run_dir / "checkpoint.pt"
        train(config, resume=checkpoint.exists(), progress=False)
    train_call_seconds = time.perf_counter() - started
    best_path = run_dir / "best.pt"
    best = torch.load(best_path, map_location="cpu", weights_only=True)
    history = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
    at_best = next(h for h in history if h["epoch"] == best["epoch"])
    steps = history[-1]["step"]
    sign = int(best.get("confidence_sign", 1))

    scale_accuracy = pretext_accuracy(config, run_dir / "checkpoint.pt")
    segmenter = get_plugin_manager().create("segmenter", "scale-ssl", checkpoint=str(best_path))
    pred_dir = run_dir / "test_pred"
    started = time.perf_counter()
    segment_paths(
        segmenter,
        [DATA / "monuseg" / "test" / "images"],
        pred_dir,
        overwrite=True,
        name="scale-ssl",
        progress=False,
    )
    segment_seconds = time.perf_counter() - started
    evaluation = evaluate_folder(pred_dir, DATA / "monuseg" / "test" / "annotations", METRICS, progress=False)
    summary = evaluation.summary()
    return {
        "config": str(config_path.relative_to(REPO)),
        "name": base.name,
        "seed": seed,
        "checkpoint": str(best_path.relative_to(REPO)) if best_path.is_relative_to(REPO) else str(best_path),
        "epochs_trained": history[-1]["epoch"],
        "epochs_requested": config.epochs,
        "steps": steps,
        "best_epoch": best["epoch"],
        "val_dice": best["val_dice"],
        "val_dice_at_sign": at_best["val_dice_negated"] if sign == -1 else at_best["val_dice"],
        "val_scale_accuracy": at_best.get("val_scale_accuracy"),
        "held_out_scale_accuracy": scale_accuracy,
        "final_train_scale_loss": history[-1].get("loss/scale"),
        "val_aji_tuned": best.get("val_aji"),
        "confidence_sign": sign,
        "post_processor": best.get("post_processor"),
        "train_wall_seconds": sum(h["train_seconds"] for h in history),
        "train_call_seconds": train_call_seconds,
        "train_tflop": step_tflop(config) * steps,
        "test_segment_seconds": segment_seconds,
        "test": {**summary["mean"], "aji_pooled": summary["pooled"].get("aji")},
        "test_per_image": {s.image_id: s.values for s in evaluation.images},
    }


def table(runs: list[dict]) -> str:
    """Markdown: one row per configuration, mean ± std over seeds.

    The validation Dice is that of the A the segmenter uses: of the negated confidence where
    tuning chose that sign (``tune_polarity``), and runs recorded before that was stored show the
    Dice at the trained sign.
    """
    lines = [
        "| configuration | seeds | val Dice (A) | held-out scale acc. (last epoch) | test AJI | test AHD | "
        "test ADC | "
        "test PQ | train steps | train TFLOP | train wall (h) | CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    by_name: dict[str, list[dict]] = {}
    for run in runs:
        by_name.setdefault(run["name"], []).append(run)

    def ms(values: list[float | None], digits: int = 3) -> str:
        vals = [v for v in values if v is not None and not math.isnan(v)]
        if not vals:
            return "–"
        if len(vals) == 1:
            return f"{vals[0]:.{digits}f}"
        return f"{np.mean(vals):.{digits}f} ± {np.std(vals, ddof=1):.{digits}f}"

    for name, rs in by_name.items():
        lines.append(
            f"| {name} | {len(rs)} | {ms([r.get('val_dice_at_sign', r['val_dice']) for r in rs])} | "
            f"{ms([r.get('held_out_scale_accuracy') for r in rs])} | "
            f"{ms([r['test']['aji'] for r in rs])} | {ms([r['test']['ahd'] for r in rs], 2)} | "
            f"{ms([r['test']['adc'] for r in rs])} | {ms([r['test']['pq'] for r in rs])} | "
            f"{ms([r['steps'] for r in rs], 0)} | {ms([r['train_tflop'] for r in rs], 0)} | "
            f"{ms([r['train_wall_seconds'] / 3600 for r in rs], 2)} | {cpu_counts(rs)} |"
        )
    return "\n".join(lines) + "\n"


def cpu_tag(machine: dict | None) -> str:
    """A short name for the CPU a record was made on (``"Xeon AMX"``, ``"AMD EPYC"``; ``""``: unknown).

    Wall times and bf16 speed differ several-fold between CPU kinds, so every row says which ran it.
    It is the machine of the call that wrote the record: the one that trained the run unless the
    run was resumed or scored from an earlier session's checkpoint (its ``train.log`` tells then).
    """
    if not machine or not machine.get("cpu_model"):
        return ""
    name = " ".join(re.sub(r"\((R|TM)\)|\bIntel\b|\bProcessor\b|\bCPU\b", " ", machine["cpu_model"]).split())
    return f"{name} AMX" if machine.get("amx_tile") else name


def cpu_counts(runs: list[dict]) -> str:
    """The CPUs a configuration's seeds ran on, with how many seeds each (``"Xeon AMX ×2, AMD EPYC ×1"``)."""
    counts = Counter(cpu_tag(r.get("machine")) or "unknown" for r in runs)
    return ", ".join(f"{tag} ×{n}" for tag, n in counts.items())


def seed_table(runs: list[dict]) -> str:
    """Markdown: test AJI of every configuration seed by seed, with the epoch kept, the sign used and the CPU.

    The mean ± std of :func:`table` hides which seed did what; the ablations are compared seed
    for seed, since the seed (its crop stream) moves test AJI more than a regularizer does.
    A record made before ``confidence_sign`` was stored shows the sign as ``?`` when its
    configuration chose the sign on validation (:func:`used_sign`), not as a guess.
    """
    seeds = sorted({r["seed"] for r in runs})
    lines = [
        "| configuration | " + " | ".join(f"seed {s}: test AJI (epoch, sign, CPU)" for s in seeds) + " |",
        "|---|" + "---|" * len(seeds),
    ]
    by_name: dict[str, dict[int, dict]] = {}
    for run in runs:
        by_name.setdefault(run["name"], {})[run["seed"]] = run
    unrecorded = False
    for name, by_seed in by_name.items():
        cells = []
        for seed in seeds:
            run = by_seed.get(seed)
            if run is None:
                cells.append("–")
                continue
            sign = used_sign(run)
            unrecorded |= sign is None
            shown = "?" if sign is None else f"{sign:+d}"
            details = ", ".join(d for d in (str(run["best_epoch"]), shown, cpu_tag(run.get("machine"))) if d)
            cells.append(f"{run['test']['aji']:.4f} ({details})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if unrecorded:
        lines += ["", "`?`: the record predates `confidence_sign`; the run's training log has the sign."]
    return "\n".join(lines) + "\n"


def used_sign(run: dict) -> int | None:
    """The sign of F's confidence `run` was scored at, or None where the record cannot tell.

    Records before ``confidence_sign`` was stored do not say it; without ``tune_polarity`` in
    the run's configuration it is +1 by construction, with it the record alone cannot tell.
    """
    if "confidence_sign" in run:
        return int(run["confidence_sign"])
    config = run.get("config")
    if config and (REPO / config).is_file() and not yaml_config(REPO / config).tune_polarity:
        return 1
    return None


def update_readme(text: str) -> None:
    readme = REPO / "README.md"
    content = readme.read_text()
    if README_START in content and README_END in content:
        head, rest = content.split(README_START, 1)
        _, tail = rest.split(README_END, 1)
        write_text(readme, f"{head}{README_START}\n{text}{README_END}{tail}")


def refresh_compute(run: dict) -> dict:
    """`run` with ``train_tflop`` counted again from its configuration YAML and steps (:func:`step_tflop`).

    Compute is a function of the configuration, not a measurement, so a record made before the
    count was corrected (passes of F without gradient counted as forward and backward until
    2026-12-07) is brought up to date; a record whose YAML is gone keeps its figure.
    """
    path = REPO / run["config"]
    if not path.exists():
        return run
    return {**run, "train_tflop": yaml_step_tflop(path) * run["steps"]}


@functools.cache
def yaml_config(path: Path) -> ExperimentConfig:
    """The configuration of a YAML, read once per file (a results file holds several seeds of one)."""
    return resolve_config_paths(load_config(path, ExperimentConfig), path)


def yaml_step_tflop(path: Path) -> float:
    """:func:`step_tflop` of a YAML."""
    return step_tflop(yaml_config(path))


def record(path: Path, result: dict | None) -> list[dict]:
    """Add `result` to the results file, read again just now (several runs may share it)."""
    previous = json.loads(path.read_text()) if path.exists() else {"runs": []}
    runs = {(r["config"], r["seed"]): refresh_compute(r) for r in previous["runs"]}
    if result is not None:
        runs[(result["config"], result["seed"])] = result
    ordered = sorted(runs.values(), key=lambda r: (r["config"], r["seed"]))
    write_json(path, {"runs": ordered})
    return ordered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "configs", nargs="*", type=Path, help="experiment YAMLs (none: only write the table again from --out)"
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--eval-only", action="store_true", help="score existing best.pt files, do not train")
    parser.add_argument(
        "--epochs",
        type=int,
        help="train this many epochs instead of the YAML's (a run that has fewer is resumed further)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    ordered: list[dict] = []
    for config_path in args.configs:
        config_path = config_path.resolve()
        for seed in args.seeds:
            result = run_one(config_path, seed, eval_only=args.eval_only, epochs=args.epochs)
            result["machine"] = machine_info()
            print(
                f"{result['name']} seed {seed}: val Dice {result['val_dice_at_sign']:.3f} "
                f"(sign {result['confidence_sign']:+d}), "
                f"test AJI {result['test']['aji']:.4f} (pooled {result['test']['aji_pooled']:.4f})",
                flush=True,
            )
            ordered = record(args.out, result)
    if not ordered:
        ordered = record(args.out, None)
    text = table(ordered)
    tables = text + "\n" + seed_table(ordered)
    if args.out.resolve() == DEFAULT_OUT.resolve():
        source = "`python benchmarks/ssl_reproduce.py` from `benchmarks/results/ssl_reproduce.json`"
        write_text(RESULTS / "ssl_table.md", f"Generated by {source}.\n\n" + tables)
        update_readme(text)
    else:  # another record: its own table beside it, the README's table stays the main record's
        source = f"`python benchmarks/ssl_reproduce.py --out {args.out.name}` from `{args.out.name}`"
        write_text(args.out.with_suffix(".md"), f"Generated by {source}.\n\n" + tables)
    print(text)


if __name__ == "__main__":
    main()
