"""Training-step throughput: the paper's configuration (fp32 eager, NCHW) vs the shipped one, same process.

A third row times the paper's F and G with the authors' code's losses (equivariance target without
gradient, scale equivariance) at the shipped precision (bf16 autocast where the CPU has it), what
``benchmarks/ssl/m-faithful-code.yaml`` trains.

One step = sample a balanced batch, F forward, sparsity activation, G on A⊙I, smoothness and
equivariance, backward, Adam step. Prints samples/s, the ratio, the estimated time of a 100-step
epoch and the compute per step (TFLOP, fwd+bwd ≈ 3× forward multiply-adds × 2), and writes
``benchmarks/results/ssl_train_speed.json``.

    python benchmarks/train_speed.py [--steps 3] [--batch-size 24]

Other processes on the machine inflate wall times; the ratio (interleaved, same process) is the figure.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from bench_record import RESULTS, machine_info, time_interleaved, write_json
from ssl_reproduce import forward_gmacs, training_tflop

import nucbench
from nucbench.interfaces import RegularizerContext
from nucbench.precision import autocast, choose_precision
from nucbench.train import build_attention

CONFIGS = {
    "faithful-fp32-eager": {
        "backbone": ("dilated-resnet", {}),
        "classifier": "resnet34",
        "equivariance_fraction": 1.0,
        "precision": "fp32",
        "channels_last": False,
    },
    # the paper's F and G with the authors' code's losses, as m-faithful-code trains them
    "faithful-code-shipped-precision": {
        "backbone": ("dilated-resnet", {}),
        "classifier": "resnet34",
        "equivariance_fraction": 1.0,
        "stop_gradient": True,
        "scale_equivariance": True,
        "precision": "auto",
        "channels_last": True,
    },
    "shipped": {
        "backbone": ("dilated-lite", {"width": 16, "stride": 2}),
        "classifier": "regnetx_002",
        "equivariance_fraction": 0.25,
        "precision": "auto",
        "channels_last": True,
    },
}


def build(spec: dict, batch_size: int, crop: int, seed: int = 0):
    torch.manual_seed(seed)
    task = nucbench.create("pretext-task", "scale-classification", classifier=spec["classifier"])
    backbone = nucbench.create("attention-backbone", spec["backbone"][0], **spec["backbone"][1])
    regs = [
        nucbench.create("regularizer", "sparsity"),
        nucbench.create("regularizer", "smoothness"),
        nucbench.create("regularizer", "equivariance", fraction=spec["equivariance_fraction"],
                        stop_gradient=spec.get("stop_gradient", False)),
    ]
    if spec.get("scale_equivariance"):
        regs.append(nucbench.create("regularizer", "scale-equivariance"))
    head = task.build_head()
    precision = choose_precision("cpu", spec["precision"], channels_last=spec["channels_last"])
    if precision.channels_last:
        backbone.to(memory_format=torch.channels_last)
        head.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(list(backbone.parameters()) + list(head.parameters()), lr=2e-4, weight_decay=1e-4)
    rng = np.random.default_rng(seed)
    tiles = [rng.integers(0, 256, size=(crop * 6, crop * 6, 3), dtype=np.uint8) for _ in range(2)]
    sampler = task.make_sampler(tiles, batch_size=batch_size, crop_size=crop, seed=seed)
    activation, attend, _ = build_attention(backbone, regs)

    def step() -> None:
        crops, targets = sampler.sample()
        x = torch.from_numpy(crops).permute(0, 3, 1, 2).float().div(255)
        x = x.contiguous(memory_format=torch.channels_last) if precision.channels_last else x.contiguous()
        with autocast(precision):
            a = backbone(x)
            A = activation(a, update_stats=True)
            y = torch.from_numpy(targets)
            loss = task.loss(head(task.head_input(x, A)), y)
            ctx = RegularizerContext(images=x, confidence=a, attention=A, attend=attend, step=0, targets=y)
            for r in regs:
                if r.weight:
                    loss = loss + r.weight * r(ctx)
        opt.zero_grad()
        loss.backward()
        opt.step()

    tflop = training_tflop(
        backbone, head, regs, n_classes=task.n_classes, batch_size=batch_size, crop_size=crop
    )
    g_macs = forward_gmacs(head, crop) * batch_size
    f_macs = tflop * 1e3 / 6 - g_macs  # F's share, its extra passes in units of a forward and backward
    return step, precision, tflop, f_macs, g_macs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="timed steps per configuration")
    parser.add_argument("--batch-size", type=int, default=24)
    parser.add_argument("--crop", type=int, default=160)
    parser.add_argument("--out", default=str(RESULTS / "ssl_train_speed.json"))
    args = parser.parse_args()
    info = machine_info()
    built = {name: build(spec, args.batch_size, args.crop) for name, spec in CONFIGS.items()}
    timed = time_interleaved({name: step for name, (step, *_) in built.items()}, args.steps)
    times = {name: t["wall"] for name, t in timed.items()}
    rows = {}
    for name, (_, precision, tflop, f_macs, g_macs) in built.items():
        sec = float(np.median(times[name]))
        rows[name] = {
            **CONFIGS[name],
            "precision_choice": precision.as_dict(),
            "seconds_per_step": sec,
            "step_times": times[name],
            "samples_per_second": args.batch_size / sec,
            "epoch_minutes_100_steps": 100 * sec / 60,
            "tflop_per_step": tflop,
            "forward_gmacs_F_per_step": f_macs,
            "forward_gmacs_G_per_step": g_macs,
        }
        print(
            f"{name:32s} {args.batch_size / sec:7.2f} samples/s  {sec:6.2f} s/step  "
            f"epoch (100 steps) {100 * sec / 60:6.1f} min  {tflop:.3f} TFLOP/step  ({precision.dtype})"
        )
    ratio = rows["shipped"]["samples_per_second"] / rows["faithful-fp32-eager"]["samples_per_second"]
    print(f"shipped / faithful fp32 eager: {ratio:.1f}x samples/s")
    code = rows["faithful-code-shipped-precision"]["samples_per_second"] / rows["faithful-fp32-eager"][
        "samples_per_second"]
    print(f"faithful F and G with the authors' losses, bf16 where native / faithful fp32 eager: {code:.1f}x")
    write_json(
        args.out,
        {
            "machine": info,
            "batch_size": args.batch_size,
            "crop": args.crop,
            "configs": rows,
            "speedup": ratio,
            "faithful_code_speedup": code,
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
