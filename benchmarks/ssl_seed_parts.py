"""Which part of a seed decides whether the paper's F learns nuclei: F's start, G's start or the crops?

A seeded ``nucbench train`` run draws three things from its seed: F's initialisation, G's
initialisation, and the stream of crops and augmentations. ``m-faithful-code-f0s1``, ``-g1s0``
and ``-fg0s1`` take F and/or G from another seed's untrained model (``ssl_untrained.py`` and the
``pretrained_path`` parameters) while the run's own seed draws the rest. With seed 0's and seed 1's
own runs (seed 0 learnt nuclei, seed 1 inverted) they cover every mix of G and crops with seed 0's F.

Reads each run's scored curve (``ssl_curve.py --score-best``) and its ``ssl_diagnose.py`` entry
(the 7 % most and least attended validation pixels against the nuclei), all one epoch in fp32 on
the plain-AVX-512 Xeon, and writes ``benchmarks/results/ssl_seed_parts.{json,md}``:

    python benchmarks/ssl_seed_parts.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bench_record import REPO, RESULTS, machine_info, write_json, write_text
from ssl_ablations import CURVES, machine_label

from nucbench.config import ExperimentConfig, load_config

OUT = RESULTS / "ssl_seed_parts.json"
DIAGNOSTICS = RESULTS / "ssl_diagnostics.json"
SSL = REPO / "benchmarks" / "ssl"

#: (experiment YAML, its scored curve under ssl_curves/, its ssl_diagnostics.json entry)
RUNS = [
    (
        "m-faithful-code.yaml",
        "m-faithful-code-xeon-fp32/m-faithful-code.json",
        "runs/m-faithful-code-fp32/best.pt",
    ),
    (
        "m-faithful-code.yaml",
        "m-faithful-code-s1-xeon-fp32/m-faithful-code-s1.json",
        "runs/m-faithful-code-s1-fp32/best.pt",
    ),
    ("m-faithful-code-f0s1.yaml", "m-faithful-code-f0s1.json", "runs/m-faithful-code-f0s1/best.pt"),
    ("m-faithful-code-g1s0.yaml", "m-faithful-code-g1s0.json", "runs/m-faithful-code-g1s0/best.pt"),
    ("m-faithful-code-fg0s1.yaml", "m-faithful-code-fg0s1.json", "runs/m-faithful-code-fg0s1/best.pt"),
]
_SEED_IN_NAME = re.compile(r"seed(\d+)")


def start_seed(params: dict[str, Any], run_seed: int) -> int:
    """The seed a part starts from: that of its ``pretrained_path`` (``…-seedN.pt``), else the run's."""
    path = params.get("pretrained_path")
    if not path:
        return run_seed
    match = _SEED_IN_NAME.search(Path(path).name)
    if match is None:
        raise ValueError(f"pretrained_path {path}: no seed in its name (ssl_untrained.py writes …-seedN.pt)")
    return int(match.group(1))


def row(config_name: str, curve_path: Path, diagnosis: dict[str, Any] | None) -> dict[str, Any]:
    """One run: where F, G and the crops came from, and what one epoch made of them."""
    config = load_config(SSL / config_name, ExperimentConfig)
    curve = json.loads(curve_path.read_text())
    seed = curve["seed"]
    if curve["run"] not in (config.name, f"{config.name}-s{seed}"):
        raise ValueError(f"{curve_path}: run {curve['run']} (seed {seed}) is not {config_name}")
    epoch = curve["epochs"][0]
    out = {
        "run": curve["run"],
        "config": f"benchmarks/ssl/{config_name}",
        "f_seed": start_seed(config.backbone.params, seed),
        "g_seed": start_seed(config.pretext_task.params, seed),
        "crop_seed": seed,
        "val_dice_epoch1": epoch["val_dice"],
        "val_scale_accuracy_epoch1": epoch.get("val_scale_accuracy"),
        "scale_loss_epoch1": epoch.get("loss/scale"),
        "test": curve["best_so_far_scored"]["test"],
        "epoch_seconds": epoch["train_seconds"],
        "cpu": machine_label(curve),
        "curve": str(curve_path.relative_to(REPO)),
    }
    if diagnosis is not None:
        mean = diagnosis["mean"]
        out["dice_top7"], out["dice_bottom7"] = mean["dice_top7"], mean["dice_bottom7_inverted"]
        out["attends"] = "nuclei" if mean["dice_top7"] >= mean["dice_bottom7_inverted"] else "inverted"
    return out


def markdown(rows: list[dict[str, Any]], machine: dict[str, Any]) -> str:
    lines = [
        "# Which part of the seed decides (the paper's F, one epoch)",
        "",
        f"`{machine['command']}` at commit {machine['git_commit']}, {machine['date_utc']}.",
        "",
        "| run | F from seed | G from seed | crops from seed | val Dice, epoch 1 "
        "| top 7 % / bottom 7 % (val) | attends | test AJI | test PQ | epoch (min) | CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        polarity = f"{r['dice_top7']:.3f} / {r['dice_bottom7']:.3f}" if "dice_top7" in r else "—"
        lines.append(
            f"| `{r['run']}` | {r['f_seed']} | {r['g_seed']} | {r['crop_seed']} | {r['val_dice_epoch1']:.3f} "
            f"| {polarity} | {r.get('attends', '—')} | {r['test']['aji']:.4f} | {r['test']['pq']:.3f} "
            f"| {r['epoch_seconds'] / 60:.0f} | {r['cpu']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    diagnostics = json.loads(DIAGNOSTICS.read_text())["runs"] if DIAGNOSTICS.exists() else {}
    rows = []
    for config_name, curve, key in RUNS:
        path = CURVES / curve
        if not path.exists():
            print(f"skipped {config_name}: no scored curve {path.relative_to(REPO)} yet")
            continue
        rows.append(row(config_name, path, diagnostics.get(key)))
    machine = machine_info()
    write_json(OUT, {"machine": machine, "runs": rows})
    text = markdown(rows, machine)
    write_text(OUT.with_suffix(".md"), text)
    print(text)


if __name__ == "__main__":
    main()
