"""``nucbench train CONFIG.yaml [--resume]``: train a self-supervised attention model."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "train",
        parents=[common],
        help="train a self-supervised method from an experiment YAML",
        description="Train the attention network of a self-supervised method (pretext task, backbone, "
        "regularizers from the YAML), validate and checkpoint every epoch, then tune the "
        "post-processing on the validation tiles. Writes OUTPUT_DIR/NAME/{checkpoint,best}.pt.",
    )
    parser.add_argument("config", help="experiment YAML (nucbench.config.ExperimentConfig)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run from its last checkpoint, bit for bit "
        "(raising 'epochs' in the YAML trains further)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from nucbench.config import ExperimentConfig, load_config
    from nucbench.train import resolve_config_paths, train

    config = resolve_config_paths(load_config(args.config, ExperimentConfig), args.config)
    result = train(config, resume=args.resume, progress=not args.no_progress)
    print(f"best epoch {result.best_epoch}: validation Dice {result.best_dice:.4f}")
    if result.post_processor:
        print(f"post-processing tuned on validation: {result.post_processor}")
    print(f"model: {result.best_checkpoint}")
    return 0
