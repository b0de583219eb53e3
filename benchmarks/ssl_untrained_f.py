"""Save a seed's *untrained* F, exactly as ``nucbench train`` draws it, as a weights file.

With ``backbone.params.pretrained_path`` another run can then start from that F while drawing
everything else (G, the crops, the augmentations) from its own seed, which separates what F's
initialisation decides from what the rest of the seed does (``m-faithful-code-f0s1``).

    python benchmarks/ssl_untrained_f.py benchmarks/ssl/m-faithful-code.yaml --seed 0 \\
        --out runs/untrained/m-faithful-code-f-seed0.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from ssl_polarity import untrained_backbone

from nucbench.atomic import atomic_path
from nucbench.config import ExperimentConfig, load_config
from nucbench.train import resolve_config_paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="experiment YAML")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="weights file to write (.pt)")
    args = parser.parse_args()
    config = resolve_config_paths(load_config(args.config, ExperimentConfig), args.config)
    state = {k: v.contiguous() for k, v in untrained_backbone(config, args.seed).state_dict().items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out) as tmp:
        torch.save(state, tmp)
    print(f"wrote {args.out}: untrained {config.backbone.name} of {config.name}, seed {args.seed}")


if __name__ == "__main__":
    main()
