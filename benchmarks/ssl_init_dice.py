"""Validation Dice of the *untrained* model, beside what training reached (``ssl_reproduce.json``).

A randomly initialised F already responds to stain contrast, and its seed sets the sign, so a
run's validation Dice says what the scale task taught F only next to the Dice it started from.
For each experiment YAML and seed this builds the model exactly as ``nucbench train`` does
(:func:`nucbench.train.initial_validation`) and records its validation Dice of A on the 11
validation tiles, the Dice of the same fraction of *lowest*-confidence pixels (an F pointing
away from the nuclei), and the held-out scale accuracy; then, where ``ssl_reproduce.json`` has
the trained run, its best validation Dice, best epoch and test AJI. Writes
``benchmarks/results/ssl_init_dice.json`` (entries replaced by (config, seed)) and ``.md``.

    python benchmarks/ssl_init_dice.py benchmarks/ssl/m-faithful-code.yaml --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from bench_record import REPO, RESULTS, machine_info, write_json, write_text

from nucbench.config import ExperimentConfig, load_config
from nucbench.train import initial_validation, resolve_config_paths

OUT = RESULTS / "ssl_init_dice.json"
TRAINED = RESULTS / "ssl_reproduce.json"
CURVES = RESULTS / "ssl_curves"


def trained_records(entries: list[dict]) -> dict[tuple[str, int], dict]:
    """What training reached for each entry's (config, seed): the finished run in
    ``ssl_reproduce.json``, else the curve of an unfinished or shortened one
    (``ssl_curves/NAME[-sSEED].json``, from ``ssl_curve.py --score-best``). Each file is read once."""
    runs = json.loads(TRAINED.read_text())["runs"] if TRAINED.exists() else []
    found = {
        (run["config"], run["seed"]): {
            "best_val_dice": run["val_dice"],
            "best_epoch": run["best_epoch"],
            "epochs_trained": run["epochs_trained"],
            "test_aji": run["test"]["aji"],
            "source": TRAINED.name,
        }
        for run in runs
    }
    records = {}
    for e in entries:
        key = (e["config"], e["seed"])
        if key in found:
            records[key] = found[key]
            continue
        for curve in (CURVES / f"{e['name']}.json", CURVES / f"{e['name']}-s{e['seed']}.json"):
            data = json.loads(curve.read_text()) if curve.exists() else None
            if data is not None and data["seed"] == e["seed"]:  # ssl_reproduce names a seed's run NAME-sSEED
                scored = data.get("best_so_far_scored") or {}
                records[key] = {
                    "best_val_dice": data["best_val_dice_so_far"],
                    "best_epoch": data["best_epoch_so_far"],
                    "epochs_trained": data["epochs_done"],
                    "epoch1_val_dice": data["epochs"][0]["val_dice"],
                    "test_aji": scored.get("test", {}).get("aji"),
                    "source": f"ssl_curves/{curve.name} (run not in ssl_reproduce.json)",
                }
                break
    return records


def measure(config_path: Path, seed: int) -> dict:
    config = resolve_config_paths(load_config(config_path, ExperimentConfig), config_path)
    config = config.model_copy(update={"seed": seed})
    started = time.perf_counter()
    init = initial_validation(config)
    return {
        "config": str(config_path.relative_to(REPO)),
        "name": config.name,
        "seed": seed,
        "backbone": config.backbone.model_dump(mode="json"),
        "classifier": config.pretext_task.params.get("classifier", "resnet34"),
        "init": init,
        "seconds": round(time.perf_counter() - started, 1),
        "machine": machine_info(),
    }


def table(entries: list[dict]) -> str:
    lines = [
        "| configuration | seed | F | G | val Dice untrained | inverted, untrained | held-out scale acc. "
        "untrained | best val Dice trained (epoch of epochs) | test AJI trained |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        params = e["backbone"]["params"]
        f = f"{e['backbone']['name']} w{params.get('width', '')}" + (
            f" s{params['stride']}" if "stride" in params else ""
        )
        t = e["trained"]
        trained = (
            "—" if t is None else f"{t['best_val_dice']:.3f} ({t['best_epoch']} of {t['epochs_trained']})"
        )
        aji = "—" if t is None or t["test_aji"] is None else f"{t['test_aji']:.3f}"
        acc = e["init"].get("val_scale_accuracy")
        lines.append(
            f"| {e['name']} | {e['seed']} | {f} | {e['classifier']} | {e['init']['val_dice']:.3f} | "
            f"{e['init']['val_dice_inverted']:.3f} | {'—' if acc is None else f'{acc:.3f}'} | "
            f"{trained} | {aji} |"
        )
    by_name: dict[str, list[dict]] = {}
    for e in entries:
        by_name.setdefault(e["name"], []).append(e)
    lines += [
        "",
        "Paired over the seeds that were trained (untrained → best epoch of the same seed):",
        "",
        "| configuration | seeds | val Dice untrained, all seeds | trained seeds | untrained "
        "| trained (best epoch) |",
        "|---|---|---|---|---|---|",
    ]

    def ms(values: list[float]) -> str:
        return f"{np.mean(values):.3f}" + (f" ± {np.std(values, ddof=1):.3f}" if len(values) > 1 else "")

    for name, es in by_name.items():
        paired = [e for e in es if e["trained"]]
        lines.append(
            f"| {name} | {len(es)} | {ms([e['init']['val_dice'] for e in es])} | {len(paired)} | "
            + (
                f"{ms([e['init']['val_dice'] for e in paired])} | "
                f"{ms([e['trained']['best_val_dice'] for e in paired])} |"
                if paired
                else "— | — |"
            )
        )
    return "\n".join(lines) + "\n"


def write(entries: list[dict]) -> str:
    """Refresh every entry's trained figures from the current records, write the JSON and table."""
    records = trained_records(entries)
    for e in entries:
        e["trained"] = records.get((e["config"], e["seed"]))
    entries = sorted(entries, key=lambda e: (e["name"], e["seed"]))
    write_json(OUT, {"entries": entries})
    text = table(entries)
    write_text(
        OUT.with_suffix(".md"),
        "Generated by `python benchmarks/ssl_init_dice.py CONFIG... --seeds ...` from "
        f"`benchmarks/results/{OUT.name}`.\n\n" + text
    )
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "configs", nargs="*", type=Path, help="experiment YAMLs (none: refresh the trained figures only)"
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    args = parser.parse_args()
    previous = json.loads(OUT.read_text())["entries"] if OUT.exists() else []
    entries = {(e["config"], e["seed"]): e for e in previous}
    for config_path in args.configs:
        for seed in args.seeds:
            entry = measure(config_path.resolve(), seed)
            print(
                f"{entry['name']} seed {seed}: untrained val Dice {entry['init']['val_dice']:.3f} "
                f"(inverted {entry['init']['val_dice_inverted']:.3f}), {entry['seconds']} s",
                flush=True,
            )
            entries[(entry["config"], entry["seed"])] = entry
            text = write(list(entries.values()))  # after every seed: an interrupted run keeps its figures
    if not args.configs:
        text = write(list(entries.values()))
    print(text)


if __name__ == "__main__":
    main()
