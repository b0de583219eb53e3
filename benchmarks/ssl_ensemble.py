"""Combine trained models into one ``scale-ssl`` ensemble checkpoint (their attention maps averaged).

    python benchmarks/ssl_ensemble.py runs/ens/best.pt runs/m-hprior-sparse-lite/best.pt \
        runs/m-hprior-sparse-lite-s1/best.pt runs/m-hprior-sparse-lite-s2/best.pt

The ensemble starts with the first member's post-processing; tune it and choose its inference
scale on the validation tiles with ``benchmarks/infer_scale.py --checkpoint OUT``, then ship it
with ``benchmarks/ssl_ship.py OUT --inference-selection ...``. Writes ``OUT`` and, beside it,
``ensemble.json`` (the members, their experiments and validation figures).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from bench_record import machine_info, write_json
from nucbench_scale_ssl.ensemble import combine

from nucbench.train import atomic_save


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the ensemble checkpoint to write")
    parser.add_argument("checkpoints", nargs="+", type=Path, help="best.pt files of the members")
    args = parser.parse_args()
    for path in args.checkpoints:
        if not path.is_file():
            parser.error(f"{path}: no such file")
    states = [torch.load(path, map_location="cpu", weights_only=True) for path in args.checkpoints]
    try:
        state = combine(states, names=[str(p) for p in args.checkpoints])
    except ValueError as exc:
        parser.error(str(exc))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_save(state, args.out)
    write_json(args.out.parent / "ensemble.json", {
        "machine": machine_info(),
        "members": [{"checkpoint": str(p), "experiment": s.get("experiment"), "epoch": s.get("epoch"),
                     "val_dice": s.get("val_dice"), "val_aji": s.get("val_aji")}
                    for p, s in zip(args.checkpoints, states, strict=True)],
    })
    print(f"wrote {args.out} ({len(states)} members, {args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
