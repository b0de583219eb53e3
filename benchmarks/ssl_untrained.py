"""Save a seed's *untrained* F or G, exactly as ``nucbench train`` draws it, as a weights file.

Another run can then start from that F (``backbone.params.pretrained_path``) or that G
(``pretext_task.params.pretrained_path``) while drawing everything else from its own seed; the
random initialisation is still drawn, so the rest of the run draws what it would have drawn. This
separates what each part of a seed decides (``m-faithful-code-f0s1``: seed 0's F in seed 1's run;
``m-faithful-code-g1s0``: seed 1's G in seed 0's run).

    python benchmarks/ssl_untrained.py benchmarks/ssl/m-faithful-code.yaml --seed 0 --part f \\
        --out runs/untrained/m-faithful-code-f-seed0.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from nucbench.atomic import atomic_path
from nucbench.config import ExperimentConfig, load_config
from nucbench.train import build_model, resolve_config_paths

PARTS = {"f": 1, "g": 3}  # positions of the backbone (F) and head (G) in build_model's tuple


def untrained_state(config: ExperimentConfig, seed: int, part: str) -> dict[str, torch.Tensor]:
    """The state dict of `part` ("f" or "g") of `config`'s untrained model with `seed`."""
    module = build_model(config.model_copy(update={"seed": seed}))[PARTS[part]]
    return {k: v.contiguous() for k, v in module.state_dict().items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="experiment YAML")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--part", choices=sorted(PARTS), default="f", help="F (attention) or G (classifier)")
    parser.add_argument("--out", type=Path, required=True, help="weights file to write (.pt)")
    args = parser.parse_args()
    config = resolve_config_paths(load_config(args.config, ExperimentConfig), args.config)
    state = untrained_state(config, args.seed, args.part)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out) as tmp:
        torch.save(state, tmp)
    what = config.backbone.name if args.part == "f" else config.pretext_task.params.get("classifier", "G")
    print(f"wrote {args.out}: untrained {what} of {config.name}, seed {args.seed}")


if __name__ == "__main__":
    main()
