"""Fixtures for the self-supervised method's tests: tiny experiment configs on synthetic data."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TINY_PLUGIN = HERE / "tiny_plugin.py"
AREA_PRIOR = REPO / "examples" / "nucbench-area-prior" / "nucbench_area_prior" / "__init__.py"


def tiny_config(**overrides) -> dict:
    """A training run that takes a few seconds: 32-pixel crops, width-4 F, resnet10t G.

    Not 16-pixel crops: G's last stage would then run a stride-2 convolution on a 1×1 map, whose
    bf16 weight gradient oneDNN computes nondeterministically (on AVX-512-bf16 CPUs; sometimes
    NaN), so a seeded bf16 run would not repeat itself. From 2×2 maps up it is deterministic.
    """
    config = {
        "name": "tiny",
        "seed": 3,
        "train_data": {"name": "tiny-blobs", "params": {"n": 3, "size": 192}},
        "val_data": {"name": "tiny-blobs", "params": {"n": 2, "size": 192}},
        "pretext_task": {
            "name": "scale-classification",
            "params": {"classifier": "resnet10t", "jitter": 1.4},
        },
        "backbone": {"name": "dilated-lite", "params": {"width": 4, "dilations": [1, 2]}},
        "regularizers": ["sparsity", "smoothness", {"name": "equivariance", "params": {"fraction": 0.5}}],
        "post_processor": "tiny-threshold",
        "tuning": {"threshold": [0.3, 0.5]},
        "epochs": 2,
        "steps_per_epoch": 2,
        "batch_size": 6,
        "crop_size": 32,
        "held_out_batches": 1,
        "stain_normalize": False,
        "output_dir": "runs",
    }
    config.update(overrides)
    return config


@pytest.fixture
def write_config(tmp_path):
    """``write_config(**overrides) -> Path`` of a tiny experiment YAML in `tmp_path`."""

    def write(filename: str = "exp.yaml", **overrides) -> Path:
        path = tmp_path / filename
        path.write_text(yaml.safe_dump(tiny_config(**overrides)))
        return path

    return write
