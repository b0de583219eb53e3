"""Is ``precision: auto`` the fastest choice on this CPU? F's forward and backward pass timed three ways.

``nucbench.precision.choose_precision("cpu", "auto")`` picks bf16 autocast only where the CPU does
bf16 natively (AVX-512-bf16 or AMX on x86) and fp32 otherwise, channels-last in both cases. This
script times the attention backbones' forward and backward pass (sum of A as the loss) under fp32
NCHW, fp32 channels-last and bf16 autocast channels-last, interleaved in one process, prints the
ratios against fp32 NCHW and says whether ``auto``'s choice was the fastest of the three.

Each machine kind gets its own entry in ``benchmarks/results/precision_choice.json``, keyed by
CPU model and its bf16 instructions, so runs on other machines add to the record instead of
replacing it.

    python benchmarks/precision_choice.py [--steps 3] [--batch-size 8] [--crop 160]
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path

import numpy as np
import torch
from bench_record import RESULTS, machine_info, time_interleaved, write_json

import nucbench
from nucbench.precision import PrecisionChoice, autocast, choose_precision

BACKBONES = {
    "faithful F (dilated-resnet, width 64)": ("dilated-resnet", {}),
    "shipped F (dilated-lite, width 16, stride 2)": ("dilated-lite", {"width": 16, "stride": 2}),
}
MODES = {
    "fp32 NCHW": ("fp32", False),
    "fp32 channels-last": ("fp32", True),
    "bf16 channels-last": ("bf16", True),
}


def forward_backward(backbone: torch.nn.Module, x: torch.Tensor, precision: PrecisionChoice) -> None:
    """One forward and backward pass of `backbone` on `x` (the sum of A as the loss)."""
    with autocast(precision):
        loss = torch.sigmoid(backbone(x)).float().sum()
    loss.backward()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="timed steps per mode")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--crop", type=int, default=160)
    parser.add_argument("--out", default=str(RESULTS / "precision_choice.json"))
    args = parser.parse_args()
    info = machine_info()
    auto = choose_precision("cpu", "auto")
    auto_mode = f"{auto.dtype} channels-last" if auto.channels_last else f"{auto.dtype} NCHW"
    print(f"{info['cpu_model']}: auto picks {auto_mode} ({auto.reason})")
    rows = {}
    for label, (name, params) in BACKBONES.items():
        torch.manual_seed(0)
        images = torch.rand(args.batch_size, 3, args.crop, args.crop)
        calls = {}
        for mode, (dtype, channels_last) in MODES.items():
            backbone = nucbench.create("attention-backbone", name, **params).train()
            x = images.clone()
            if channels_last:
                backbone.to(memory_format=torch.channels_last)
                x = x.contiguous(memory_format=torch.channels_last)
            precision = choose_precision("cpu", dtype, channels_last=channels_last)
            calls[mode] = functools.partial(forward_backward, backbone, x, precision)
        # the warm-up call lets oneDNN build its kernels; the rounds interleave the modes
        times = {mode: t["wall"] for mode, t in time_interleaved(calls, args.steps).items()}
        seconds = {mode: float(np.median(t)) for mode, t in times.items()}
        fastest = min(seconds, key=seconds.__getitem__)
        base = seconds["fp32 NCHW"]
        rows[label] = {
            "seconds_per_step": seconds,
            "step_times": times,
            "speed_vs_fp32_nchw": {mode: base / s for mode, s in seconds.items()},
            "fastest": fastest,
            "auto_is_fastest": fastest == auto_mode,
        }
        print(f"\n{label}, batch {args.batch_size} x {args.crop}², forward + backward:")
        for mode, s in seconds.items():
            mark = "  <- auto" if mode == auto_mode else ""
            print(f"  {mode:20s} {s:7.3f} s/step  {base / s:5.2f}x fp32 NCHW{mark}")
        verdict = "is" if fastest == auto_mode else f"is NOT (fastest: {fastest})"
        print(f"  auto's choice {verdict} the fastest")
    key = f"{info['cpu_model']} | avx512_bf16={info['avx512_bf16']} amx={info['amx_tile']}"
    out = Path(args.out)
    try:
        record = json.loads(out.read_text())
    except FileNotFoundError:
        record = {"machines": {}}
    record["machines"][key] = {
        "machine": info,
        "batch_size": args.batch_size,
        "crop": args.crop,
        "auto": auto.as_dict(),
        "backbones": rows,
    }
    write_json(out, record)
    print(f"\nwrote {out} (entry {key!r})")


if __name__ == "__main__":
    main()
