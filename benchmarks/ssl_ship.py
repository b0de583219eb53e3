"""Ship a trained model: copy a run's ``best.pt`` into the ``nucbench_scale_ssl`` package.

Writes ``plugins/nucbench_scale_ssl/scale-ssl.pt`` (F's weights, the activation state, the tuned
post-processing; what ``--method scale-ssl`` loads by default) and ``scale-ssl.json`` beside it
(provenance: the run's config, epoch, validation Dice and AJI, tuned parameters, size, commit).
An ensemble (``benchmarks/ssl_ensemble.py``) ships the same way; the provenance then lists each
member's training record. With ``--inference-selection``, a ``benchmarks/infer_scale.py`` result
for that checkpoint, the inference scale and post-processing parameters that setting chose on the
validation tiles are stored too (``inference.scale``, the segmenter's default).

    python benchmarks/ssl_ship.py runs/m-hprior-otsu-lite/best.pt \
        [--inference-selection benchmarks/results/ssl_infer_scale_otsu.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from bench_record import REPO, git_commit, write_json

from nucbench.train import atomic_save

PACKAGE = REPO / "plugins" / "nucbench_scale_ssl"


def provenance(checkpoint: Path, state: dict) -> dict:
    """The training record of one trained model: config, epochs, best epoch, validation Dice, history."""
    run_dir = checkpoint.parent
    history = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
    return {
        "checkpoint": str(checkpoint),
        "experiment": json.loads((run_dir / "config.json").read_text()),
        "epochs_trained": history[-1]["epoch"],
        "best_epoch": state.get("epoch"),
        "val_dice": state.get("val_dice"),
        "history": history,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="a best.pt written by nucbench train (tuned)")
    parser.add_argument("--inference-selection", type=Path, default=None,
                        help="an infer_scale.py result for this checkpoint: ship its best validation setting")
    args = parser.parse_args()
    state = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    if "val_aji" not in state and args.inference_selection is None:
        hint = ("tune it with benchmarks/infer_scale.py and pass --inference-selection" if "members" in state
                else "run nucbench train --resume")
        parser.error(f"{args.checkpoint}: post-processing not tuned yet ({hint})")
    selection = None
    if args.inference_selection is not None:
        selection = json.loads(args.inference_selection.read_text())
        if Path(selection["checkpoint"]).resolve() != args.checkpoint.resolve():
            parser.error(f"{args.inference_selection} was measured on {selection['checkpoint']}, "
                         f"not {args.checkpoint}")
        best = selection["best_on_validation"]
        state["inference"] = {"scale": best["scale"], "tta": bool(best.get("tta", False))}
        state["post_processor"] = {"name": state["post_processor"]["name"],
                                   "params": {**state["post_processor"]["params"],
                                              **best["post_processor_params"]}}
        state["val_aji"] = best["val_aji"]
    out = atomic_save(state, PACKAGE / "scale-ssl.pt")
    out.chmod(0o644)
    sources = state.get("sources", [str(args.checkpoint)])
    members = [provenance(Path(source), member) for source, member in
               zip(sources, state.get("members", [state]), strict=True)]
    write_json(
        PACKAGE / "scale-ssl.json",
        {
            "source_checkpoint": str(args.checkpoint),
            **(members[0] if len(members) == 1 else {"ensemble_of": members}),
            "val_aji_tuned": state["val_aji"],
            "post_processor": state["post_processor"],
            "inference": state.get("inference", {"scale": 1.0}),
            "inference_selection": None if selection is None else {
                "file": str(args.inference_selection), "best_on_validation": selection["best_on_validation"]},
            "bytes": out.stat().st_size,
            "git_commit": git_commit(),
        },
    )
    print(f"shipped {args.checkpoint} -> {out} ({out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
