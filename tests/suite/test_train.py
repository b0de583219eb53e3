"""A method given as a training config: trained first (once per seed), then evaluated; reused after."""

from __future__ import annotations

import yaml
from mlflow import MlflowClient

from .helpers import PLUGIN

#: A training of a few seconds: width-4 F, resnet10t G, 32-pixel crops, one epoch of two steps,
#: on the synthetic `disks` images (192 px: the 10x crop of 32 px needs 4 × 32 × 1.4 = 180 px).
#: Not 16-pixel crops: see tests/ssl/conftest.py (oneDNN's bf16 gradient on a 1×1 map).
EXPERIMENT = {
    "name": "tiny",
    "train_data": {"name": "disks", "params": {"n_images": 3, "size": 192}},
    "val_data": {"name": "disks", "params": {"n_images": 1, "size": 192}},
    "pretext_task": {"name": "scale-classification", "params": {"classifier": "resnet10t", "jitter": 1.4}},
    "backbone": {"name": "dilated-lite", "params": {"width": 4, "dilations": [1, 2]}},
    "regularizers": ["sparsity"],
    "post_processor": "threshold-cc",
    "tuning": {"threshold": [0.3, 0.5]},
    "epochs": 1,
    "steps_per_epoch": 2,
    "batch_size": 6,
    "crop_size": 32,
    "held_out_batches": 1,
    "stain_normalize": False,
    "output_dir": "runs",
}


def test_trained_method_is_trained_per_seed_then_reused(cli, tmp_path, store, capsys):
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(EXPERIMENT))
    suite = {
        "name": "trained",
        "plugins": [str(PLUGIN)],
        "datasets": [{"name": "disks", "params": {"n_images": 1, "size": 96}}],
        "methods": [{"label": "tiny-ssl", "train": "exp.yaml"}],
        "metrics": ["aji"],
        "overlays": 0,
    }
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(suite))
    assert cli("run", path) == 0
    assert "1 run now" in capsys.readouterr().out
    best = tmp_path / "runs" / "tiny-s0" / "best.pt"  # <name>-s<seed>, as benchmarks/ssl_reproduce.py
    assert best.is_file() and (best.parent / "tuning.json").is_file()
    trained_at = best.stat().st_mtime_ns

    exp = MlflowClient(store).get_experiment_by_name("trained")
    (child,) = MlflowClient(store).search_runs([exp.experiment_id], "tags.`nucbench.role` = 'run'")
    assert child.data.params["method.segmenter"] == "scale-ssl"  # the default for a trained method
    assert child.data.params["method.params.checkpoint"] == str(best)
    assert child.data.params["train.seed"] == "0" and child.data.params["train.name"] == "tiny-s0"

    assert cli("run", path, "--rerun") == 0  # evaluated again; the complete training is reused
    assert "1 run now" in capsys.readouterr().out
    assert best.stat().st_mtime_ns == trained_at
