"""Train the ``supervised-unet`` baseline on the 19 MoNuSeg training tiles (CPU, bounded time).

Targets: the nucleus foreground and each nucleus' distance to its border normalised to 1 at its
centre (``nucbench_supervised.targets.distance_target``), from the labels of the ``monuseg``
dataset's ``train`` split (the organisers' XML for the 2 tiles that have it, else the derived
colour masks). Loss: BCE + soft Dice on the foreground, plus 2 × MSE on the distance. Random
160×160 crops, the 8 flips/rotations, HED stain jitter and brightness/contrast jitter. AdamW,
one-cycle-like schedule (linear warm-up, cosine decay), seeded. Every ``--eval-every`` steps the
same loss is computed on the 11 whole ``val`` tiles; the snapshot with the lowest validation loss
is written (atomically) to ``--out`` (default: the package's shipped weights) with a JSON record
beside it. The test tiles are never read.

Resumable: the last state is saved in ``--log-dir`` at each evaluation; run the same command
again to continue.

Usage::

    .venv/bin/python benchmarks/train_supervised_unet.py --threads 2 --steps 1200
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from bench_record import REPO, default_data_root, machine_info, write_json
from nucbench_supervised.model import SmallUNet
from nucbench_supervised.segmenter import SHIPPED_WEIGHTS, predict_maps, save_checkpoint
from nucbench_supervised.targets import distance_target
from torch.nn import functional as F
from tqdm import tqdm

import nucbench
from nucbench.data import hed_jitter

MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-root", default=default_data_root(), help="folder holding monuseg/")
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=160)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--widths", default="8,16,32,64,128")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-every", type=int, default=150)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=SHIPPED_WEIGHTS)
    p.add_argument("--log-dir", type=Path, default=REPO / "runs" / "supervised_unet")
    return p.parse_args(argv)


def load_split(root: str | None, split: str) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(id, image, foreground, distance) for every tile of a monuseg split."""
    ds = nucbench.create("dataset", "monuseg", root=root, split=split, labels="xml")
    out = []
    for sample in tqdm(ds, desc=f"load {split}", leave=False):
        labels = np.asarray(sample.labels)
        out.append((sample.id, sample.image, (labels > 0).astype(np.float32), distance_target(labels)))
    return out


def augment(rng: np.random.Generator, image: np.ndarray, fg: np.ndarray, dist: np.ndarray):
    k = int(rng.integers(4))
    flip = bool(rng.integers(2))
    arrays = [np.rot90(a, k, axes=(0, 1)) for a in (image, fg, dist)]
    if flip:
        arrays = [a[:, ::-1] for a in arrays]
    image, fg, dist = (np.ascontiguousarray(a) for a in arrays)
    image = hed_jitter(image, rng, scale=0.08, shift=0.01).astype(np.float32)
    contrast = rng.uniform(0.9, 1.1)
    brightness = rng.uniform(-12.0, 12.0)
    image = np.clip((image - 128.0) * contrast + 128.0 + brightness, 0, 255)
    return image, fg, dist


def batch(rng: np.random.Generator, tiles, size: int, crop: int):
    images, fgs, dists = [], [], []
    for _ in range(size):
        _, image, fg, dist = tiles[int(rng.integers(len(tiles)))]
        r = int(rng.integers(image.shape[0] - crop + 1))
        c = int(rng.integers(image.shape[1] - crop + 1))
        sl = (slice(r, r + crop), slice(c, c + crop))
        im, f, d = augment(rng, image[sl], fg[sl], dist[sl])
        images.append(im)
        fgs.append(f)
        dists.append(d)
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).div_(255.0)
    x = (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    return (x.contiguous(memory_format=torch.channels_last), torch.from_numpy(np.stack(fgs))[:, None],
            torch.from_numpy(np.stack(dists))[:, None])


def loss_fn(logits: torch.Tensor, fg: torch.Tensor, dist: torch.Tensor) -> torch.Tensor:
    fg_logit, dist_logit = logits[:, :1], logits[:, 1:2]
    bce = F.binary_cross_entropy_with_logits(fg_logit, fg)
    p = torch.sigmoid(fg_logit)
    dice = 1.0 - (2.0 * (p * fg).sum() + 1.0) / (p.sum() + fg.sum() + 1.0)
    mse = F.mse_loss(torch.sigmoid(dist_logit), dist)
    return bce + dice + 2.0 * mse


def validate(model: SmallUNet, tiles) -> float:
    model.eval()
    losses = []
    for _, image, fg, dist in tiles:
        prob, d = predict_maps(model, image, mean=MEAN, std=STD)
        p = torch.from_numpy(prob).clamp(1e-6, 1 - 1e-6)
        t = torch.from_numpy(fg)
        bce = F.binary_cross_entropy(p, t)
        dice = 1.0 - (2.0 * (p * t).sum() + 1.0) / (p.sum() + t.sum() + 1.0)
        mse = F.mse_loss(torch.from_numpy(d), torch.from_numpy(dist))
        losses.append(float(bce + dice + 2.0 * mse))
    model.train()
    return float(np.mean(losses))


def lr_at(step: int, total: int, base: float) -> float:
    warm = max(total // 20, 1)
    if step < warm:
        return base * (step + 1) / warm
    return base * 0.5 * (1.0 + math.cos(math.pi * (step - warm) / max(total - warm, 1)))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    args.log_dir.mkdir(parents=True, exist_ok=True)
    widths = tuple(int(w) for w in args.widths.split(","))
    if args.crop % 2 ** (len(widths) - 1):
        sys.exit(f"--crop {args.crop} must be a multiple of {2 ** (len(widths) - 1)}")

    train = load_split(args.data_root, "train")
    val = load_split(args.data_root, "val")
    model = SmallUNet(widths).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    rng = np.random.default_rng(args.seed)
    state_path = args.log_dir / "last.pt"
    start, best, history, elapsed, cpu_elapsed = 0, (math.inf, -1, None), [], 0.0, 0.0
    if state_path.is_file():
        st = torch.load(state_path, map_location="cpu", weights_only=True)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        rng.bit_generator.state = st["rng"]
        torch.set_rng_state(st["torch_rng"])
        start, best, history, elapsed = st["step"], st["best"], st["history"], st["elapsed"]
        cpu_elapsed = st["cpu_elapsed"]
        print(f"resuming at step {start} from {state_path}")

    model.train()
    t0 = time.perf_counter() - elapsed
    cpu0 = time.process_time() - cpu_elapsed
    running = []
    bar = tqdm(range(start, args.steps), initial=start, total=args.steps, desc="train")
    for step in bar:
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args.steps, args.lr)
        x, fg, dist = batch(rng, train, args.batch, args.crop)
        loss = loss_fn(model(x), fg, dist)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        running.append(loss.item())
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            val_loss = validate(model, val)
            record = {"step": step + 1, "train_loss": float(np.mean(running)), "val_loss": val_loss,
                      "elapsed_s": round(time.perf_counter() - t0, 1),
                      "cpu_s": round(time.process_time() - cpu0, 1)}
            running = []
            history.append(record)
            if val_loss < best[0]:
                best = (val_loss, step + 1, {k: v.detach().clone() for k, v in model.state_dict().items()})
            bar.set_postfix(val=f"{val_loss:.4f}", best=best[1])
            with open(args.log_dir / "history.jsonl", "a") as fh:
                fh.write(json.dumps(record) + "\n")
            tmp = state_path.with_name("last.pt.tmp")
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "rng": rng.bit_generator.state,
                        "torch_rng": torch.get_rng_state(), "step": step + 1, "best": best,
                        "history": history, "elapsed": time.perf_counter() - t0,
                        "cpu_elapsed": time.process_time() - cpu0}, tmp)
            tmp.replace(state_path)

    best_model = SmallUNet(widths)
    best_model.load_state_dict(best[2])
    out = save_checkpoint(args.out, best_model, mean=MEAN, std=STD)
    record = {
        "what": "supervised-unet weights: SmallUNet trained on the 19 monuseg train tiles, "
                "snapshot with the lowest validation loss (11 val tiles)",
        "weights": str(out.relative_to(REPO)) if out.is_relative_to(REPO) else str(out),
        "weights_bytes": out.stat().st_size,
        "parameters": sum(p.numel() for p in best_model.parameters()),
        "widths": list(widths),
        "train_cases": [t[0] for t in train],
        "val_cases": [t[0] for t in val],
        "args": {k: str(v) for k, v in vars(args).items()},
        "best_step": best[1],
        "best_val_loss": best[0],
        "train_wall_s": round(time.perf_counter() - t0, 1),
        "train_cpu_s": round(time.process_time() - cpu0, 1),
        "note": "wall time on a machine shared with other jobs; train_cpu_s is the process CPU time "
                "(all threads)",
        "history": history,
        "machine": machine_info(),
    }
    write_json(out.with_suffix(".json"), record)
    print(f"wrote {out} (best step {best[1]}, val loss {best[0]:.4f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
