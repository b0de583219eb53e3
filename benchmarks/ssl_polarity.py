"""Does the synthetic H&E probe tell, without labels, which way a seed's untrained F points?

For each experiment YAML and seed this builds F exactly as ``nucbench train`` does (seeded) and
records :func:`nucbench_scale_ssl.polarity.probe_contrast`: how much more confidence the untrained
F gives the hematoxylin discs of the synthetic probe than their ground (positive: towards nuclei).
Beside it, from ``ssl_init_dice.json`` (``ssl_init_dice.py``), the same untrained F's polarity on
the 11 labelled validation tiles (its top-7 % Dice against the Dice of its bottom 7 %) and what
training that seed reached.

With ``--oriented NAME`` (the same configuration with ``polarity: hematoxylin``) it then sets the
scored runs of both side by side, seed by seed, from the curves ``ssl_curve.py --score-best``
recorded (``ssl_ablations.collect``). Where the probe leaves a seed's F alone, the oriented run *is*
the plain run (checked here: the two untrained F's are equal), so that seed's plain curve stands
for both. Mean ± std over the seeds with both. Writes ``benchmarks/results/ssl_polarity.{json,md}``.

    python benchmarks/ssl_polarity.py benchmarks/ssl/m-faithful-code.yaml --seeds 0 1 2 3 4 5 6 7 \
        --oriented benchmarks/ssl/m-faithful-code-oriented.yaml --cpu "Intel(R) Xeon(R) Processor, fp32"
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch
from bench_record import REPO, RESULTS, machine_info, write_json, write_text
from nucbench_scale_ssl.polarity import probe_contrast
from ssl_ablations import CURVES, collect, format_mean_std, mean_std

from nucbench.config import ExperimentConfig, load_config
from nucbench.train import build_model, resolve_config_paths

OUT = RESULTS / "ssl_polarity.json"
INIT = RESULTS / "ssl_init_dice.json"


def untrained_backbone(config: ExperimentConfig, seed: int) -> torch.nn.Module:
    """F of `config` with `seed`, as ``nucbench train`` draws it."""
    return build_model(config.model_copy(update={"seed": seed}))[1]


def probe_rows(config: ExperimentConfig, rel: str, seeds: list[int]) -> list[dict[str, Any]]:
    """Per seed: the probe's contrast on the untrained F and, where recorded, its validation polarity."""
    init = (
        {e["seed"]: e for e in json.loads(INIT.read_text())["entries"] if e["config"] == rel}
        if INIT.exists()
        else {}
    )
    rows = []
    for seed in seeds:
        contrast = probe_contrast(untrained_backbone(config, seed))
        row: dict[str, Any] = {
            "seed": seed,
            "probe_contrast": round(contrast, 4),
            "probe_says": "nuclei" if contrast >= 0 else "away",
        }
        if seed in init:
            measured = init[seed]["init"]
            row["val_dice_untrained"] = measured["val_dice"]
            row["val_dice_inverted_untrained"] = measured["val_dice_inverted"]
            row["validation_says"] = (
                "nuclei" if measured["val_dice"] >= measured["val_dice_inverted"] else "away"
            )
            row["trained"] = init[seed].get("trained")
        rows.append(row)
        print(row, flush=True)
    return rows


def _pick(runs: list[dict[str, Any]], cpu: str | None) -> dict[str, Any] | None:
    """The run of `cpu` where there is one, else the first."""
    return next((r for r in runs if r["cpu"] == cpu), runs[0] if runs else None)


def outcomes(
    config: ExperimentConfig,
    oriented: ExperimentConfig,
    rows: list[dict[str, Any]],
    cpu: str | None,
    curves_dir: Path = CURVES,
) -> list[dict[str, Any]]:
    """Per seed, the scored plain run and the scored oriented run (the plain one where the probe
    leaves F alone, after checking that the two untrained F's are equal)."""
    runs = collect([config.name, oriented.name], curves_dir)
    out = []
    for row in rows:
        seed = row["seed"]
        plain = _pick([r for r in runs if r["config"] == config.name and r["seed"] == seed], cpu)
        if row["probe_says"] == "nuclei":
            a = untrained_backbone(config, seed).state_dict()
            b = untrained_backbone(oriented, seed).state_dict()
            if not all(torch.equal(a[k], b[k]) for k in a):
                raise SystemExit(f"seed {seed}: the probe left F alone, yet the oriented F differs")
            other, same = plain, True
        else:
            other = _pick([r for r in runs if r["config"] == oriented.name and r["seed"] == seed], cpu)
            same = False
        if plain is None and other is None:
            continue
        out.append({"seed": seed, "plain": plain, "oriented": other, "oriented_is_plain": same})
    return out


def _cell(run: dict[str, Any] | None) -> str:
    if run is None:
        return "— | — | —"
    aji = f"{run['test']['aji']:.4f} (epoch {run['scored_epoch']})"
    return f"{run['val_dice_epoch1']:.3f} | {aji} | {run['cpu']}"


def _summary(values: list[float]) -> str:
    return format_mean_std(mean_std(values), len(values)) if values else "—"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="experiment YAML")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--oriented", type=Path, help="experiment YAML of the same configuration with polarity: hematoxylin"
    )
    parser.add_argument(
        "--cpu", help="CPU and precision (as ssl_ablations names them) whose run a seed takes"
    )
    args = parser.parse_args()
    config_path = args.config.resolve()
    config = resolve_config_paths(load_config(config_path, ExperimentConfig), config_path)
    rel = str(config_path.relative_to(REPO))
    rows = probe_rows(config, rel, args.seeds)
    checked = [r for r in rows if "validation_says" in r]
    agree = sum(r["probe_says"] == r["validation_says"] for r in checked)
    oriented = None
    if args.oriented:
        oriented = resolve_config_paths(load_config(args.oriented, ExperimentConfig), args.oriented)
    paired = outcomes(config, oriented, rows, args.cpu) if oriented else []
    machine = machine_info()
    record = {"config": rel, "rows": rows, "agree": agree, "checked": len(checked), "outcomes": paired}
    write_json(OUT, {**record, "oriented": oriented and oriented.name, "cpu": args.cpu, "machine": machine})
    lines = [
        f"Generated by `{machine['command']}` at {machine['git_commit']}.",
        "",
        "| seed | probe contrast, untrained F | probe says | untrained val Dice (top 7 %) | bottom 7 % "
        "| validation says | trained: best val Dice (epoch of epochs) | test AJI |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        t = r.get("trained") or {}
        trained = f"{t['best_val_dice']:.3f} ({t['best_epoch']} of {t['epochs_trained']})" if t else "—"
        aji = f"{t['test_aji']:.3f}" if t.get("test_aji") is not None else "—"
        val = (
            f"{r['val_dice_untrained']:.3f} | {r['val_dice_inverted_untrained']:.3f} | {r['validation_says']}"
            if "validation_says" in r
            else "— | — | —"
        )
        lines.append(
            f"| {r['seed']} | {r['probe_contrast']:+.3f} | {r['probe_says']} | {val} | {trained} | {aji} |"
        )
    lines += ["", f"The probe agrees with the labelled validation tiles for {agree} of {len(checked)} seeds."]
    if paired:
        lines += [
            "",
            f"`{config.name}` against `{oriented.name}`, the scored epoch of each run"
            + (f" (the {args.cpu} run where a seed ran on several CPUs)" if args.cpu else "")
            + ":",
            "",
            "| seed | plain: val Dice epoch 1 | plain: test AJI | plain: CPU | oriented: val Dice epoch 1 "
            "| oriented: test AJI | oriented: CPU |",
            "|---|---|---|---|---|---|---|",
        ]
        for p in paired:
            oriented_cell = _cell(p["oriented"]) + (" (the plain run)" if p["oriented_is_plain"] else "")
            lines.append(f"| {p['seed']} | {_cell(p['plain'])} | {oriented_cell} |")
        both = [p for p in paired if p["plain"] and p["oriented"]]
        plain_aji = [p["plain"]["test"]["aji"] for p in both]
        oriented_aji = [p["oriented"]["test"]["aji"] for p in both]
        lines += [
            "",
            f"Over seeds {', '.join(str(p['seed']) for p in both)}: test AJI {_summary(plain_aji)} plain, "
            f"{_summary(oriented_aji)} oriented; seeds with AJI ≥ 0.30: "
            f"{sum(a >= 0.30 for a in plain_aji)} and {sum(a >= 0.30 for a in oriented_aji)} of {len(both)}.",
        ]
    write_text(OUT.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
