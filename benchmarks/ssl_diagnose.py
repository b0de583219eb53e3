"""Diagnose a training checkpoint's attention on validation tiles: threshold fit and polarity.

For each ``checkpoint.pt`` (last epoch) or ``best.pt`` (best validation Dice) given, on the first
``--tiles`` validation tiles (stain normalised, eval mode): the EMA of τ against the 93rd
percentile of the confidence at 40x, the fraction of pixels the EMA threshold attends, the Dice
with the nuclei mask of the 7 % highest confidence (what sparsity asks for) and of the 7 % *lowest*
(an inverted map), and the held-out scale accuracy and scale loss from the run's history. Writes
``benchmarks/results/ssl_diagnostics.json`` (entries keyed by the checkpoint's path, merged with
what is there).

    python benchmarks/ssl_diagnose.py runs/rgb-input/m-proposed-lite/checkpoint.pt [...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from bench_record import DATA, REPO, RESULTS, machine_info, write_json

import nucbench
from nucbench.data.stain import reinhard_normalise
from nucbench.train import dice, load_attention


def diagnose(path: Path, tiles: int, size: int) -> dict:
    state = torch.load(path, map_location="cpu", weights_only=True)
    config = json.loads((path.parent / "config.json").read_text())
    if "model" in state:  # checkpoint.pt: the whole training module
        model = state["model"]
        backbone = nucbench.create(
            "attention-backbone", config["backbone"]["name"], **config["backbone"]["params"]
        )
        backbone.load_state_dict(
            {k[len("backbone.") :]: v for k, v in model.items() if k.startswith("backbone.")}
        )
        backbone.eval()
        tau_ema = model.get("regularizers.0.tau_ema")
    else:  # best.pt: F as the segmenter loads it
        backbone, _ = load_attention(state)
        tau_ema = (state.get("activation") or {}).get("state_dict", {}).get("tau_ema")
    tau_ema = None if tau_ema is None else float(tau_ema)
    dataset = nucbench.create("dataset", "monuseg", root=str(DATA), split="val")
    rows = []
    for i in range(tiles):
        sample = dataset[i]
        image = reinhard_normalise(sample.image)[:size, :size]
        truth = sample.labels[:size, :size] > 0
        x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
        with torch.inference_mode():
            a = backbone(x)[0, 0].numpy()
        high, low = np.quantile(a, 0.93), np.quantile(a, 0.07)
        rows.append(
            {
                "id": sample.id,
                "confidence_p93": float(high),
                "attended_fraction_at_tau_ema": None if tau_ema is None else float((a > tau_ema).mean()),
                "dice_top7": dice(a > high, truth),
                "dice_bottom7_inverted": dice(a < low, truth),
                "nuclei_fraction": float(truth.mean()),
            }
        )
    history = [json.loads(line) for line in (path.parent / "history.jsonl").read_text().splitlines()]
    return {
        "checkpoint": str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path),
        "epoch": state["epoch"],
        "tau_ema": tau_ema,
        "mean": {
            k: float(np.mean([r[k] for r in rows if r[k] is not None]))
            for k in rows[0]
            if k != "id" and rows[0][k] is not None
        },
        "tiles": rows,
        "history": [
            {k: h.get(k) for k in ("epoch", "loss/scale", "val_dice", "val_scale_accuracy")} for h in history
        ],
        "pretext_task": config["pretext_task"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--tiles", type=int, default=3)
    parser.add_argument("--size", type=int, default=500, help="crop side of each tile")
    parser.add_argument("--out", type=Path, default=RESULTS / "ssl_diagnostics.json")
    args = parser.parse_args()
    data = json.loads(args.out.read_text()) if args.out.exists() else {"runs": {}}
    for path in args.checkpoints:
        result = {**diagnose(path.resolve(), args.tiles, args.size), "machine": machine_info()}
        key = str(path.parent) if path.name == "checkpoint.pt" else str(path)
        data["runs"][key] = result
        print(key, json.dumps(result["mean"]))
    data.pop("machine", None)  # each entry records the machine it was measured on
    write_json(args.out, data)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
