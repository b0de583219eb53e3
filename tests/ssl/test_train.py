"""`nucbench train` end to end on a tiny synthetic config: resume bit for bit, checkpoints, errors."""

from __future__ import annotations

import json

import pytest
import torch

from nucbench.cli import main
from nucbench.config import ExperimentConfig, load_config
from nucbench.plugins import PluginManager, reset_plugin_manager
from nucbench.train import (
    TrainingDiverged,
    atomic_save,
    load_attention,
    pretext_accuracy,
    resolve_config_paths,
    selection_dice,
    train,
    tune_post_processor,
)

from .conftest import AREA_PRIOR, TINY_PLUGIN, tiny_config


def _train(config_path, *extra: str) -> int:
    reset_plugin_manager()
    return main(["--plugin", str(TINY_PLUGIN), "train", str(config_path), "--no-progress", *extra])


def _write(folder, filename, **overrides):
    import yaml

    path = folder / filename
    path.write_text(yaml.safe_dump(tiny_config(**overrides)))
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """An uninterrupted 2-epoch run, and the same run interrupted after epoch 1 then resumed."""
    folder = tmp_path_factory.mktemp("ssl-train")
    assert _train(_write(folder, "full.yaml", name="full")) == 0
    assert _train(_write(folder, "part.yaml", name="part", epochs=1)) == 0
    assert _train(_write(folder, "part.yaml", name="part", epochs=2), "--resume") == 0
    return folder


def test_resume_is_bit_for_bit(runs):
    load = lambda name: torch.load(runs / "runs" / name / "checkpoint.pt", weights_only=True)  # noqa: E731
    a, b = load("full"), load("part")
    assert a["model"].keys() == b["model"].keys()
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    drop = {"train_seconds", "samples_per_second"}
    strip = lambda hist: [{k: v for k, v in h.items() if k not in drop} for h in hist]  # noqa: E731
    assert strip(a["history"]) == strip(b["history"])
    assert len(a["history"]) == 2


def test_checkpoints_load_weights_only_and_hold_the_tuned_post_processor(runs):
    run = runs / "runs" / "full"
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    assert {"model", "optimizer", "sampler", "torch_rng", "history", "best"} <= ckpt.keys()
    assert ckpt["epoch"] == 2
    best = torch.load(run / "best.pt", weights_only=True)
    assert best["backbone"]["name"] == "dilated-lite"
    assert best["activation"]["name"] == "sparsity"
    assert best["post_processor"]["name"] == "tiny-threshold"
    assert best["post_processor"]["params"]["threshold"] in (0.3, 0.5)
    assert 0.0 <= best["val_aji"] <= 1.0
    assert json.loads((run / "tuning.json").read_text())["chosen"]["name"] == "tiny-threshold"
    record = json.loads((run / "history.jsonl").read_text().splitlines()[-1])
    assert {
        "loss/scale",
        "loss/smoothness",
        "loss/equivariance",
        "val_dice",
        "val_scale_accuracy",
        "tau_ema",
    } <= record.keys()


def test_pretext_accuracy_of_a_checkpoint_is_its_epochs_record(runs):
    manager = PluginManager()
    manager.load_file(TINY_PLUGIN)
    path = runs / "full.yaml"
    config = resolve_config_paths(load_config(path, ExperimentConfig), path)
    record = json.loads((runs / "runs/full/history.jsonl").read_text().splitlines()[-1])
    accuracy = pretext_accuracy(config, runs / "runs/full/checkpoint.pt", manager=manager)
    assert accuracy == record["val_scale_accuracy"]
    assert accuracy in {i / 6 for i in range(7)}  # one held-out batch of 6 crops


def test_tune_polarity_scores_both_signs_and_an_inverted_f_gets_the_opposite_one(
    runs, tmp_path, shipped_member
):
    """F with its last layer negated gives every grid point, at the opposite sign, exactly the
    validation AJI the original F gives; the chosen sign is stored and applied when loading.

    F is a shipped model's (it finds the synthetic tiles' purple discs), not the tiny run's.
    """
    manager = PluginManager()
    manager.load_file(TINY_PLUGIN)
    path = runs / "full.yaml"
    config = resolve_config_paths(load_config(path, ExperimentConfig), path)
    config = config.model_copy(update={"tune_polarity": True})
    dataset = manager.create("dataset", config.val_data.name, **config.val_data.params)
    images = [dataset[i].image for i in range(len(dataset))]
    state = shipped_member()
    negated = {k: -v if k.startswith("head.") else v for k, v in state["state_dict"].items()}
    plain = atomic_save(state, tmp_path / "plain" / "best.pt")
    inverted = atomic_save({**state, "state_dict": negated}, tmp_path / "inverted" / "best.pt")
    chosen = [
        tune_post_processor(p, config, images, manager=manager, progress=False) for p in (plain, inverted)
    ]

    grids = [json.loads((p.parent / "tuning.json").read_text())["grid"] for p in (plain, inverted)]
    assert len(grids[0]) == 4  # 2 thresholds x 2 signs
    score = {(r["confidence_sign"], r["params"]["threshold"]): r["val_aji"] for r in grids[0]}
    for r in grids[1]:
        assert r["val_aji"] == score[(-r["confidence_sign"], r["params"]["threshold"])]
    assert chosen[1]["val_aji"] == chosen[0]["val_aji"] == max(score.values())
    assert sorted(score.values())[-2] < max(score.values())  # one best grid point: no tie to break
    assert chosen[1]["confidence_sign"] == -chosen[0]["confidence_sign"]
    x = torch.rand(1, 3, 48, 48)
    with torch.no_grad():
        attention = []
        for p, c in zip((plain, inverted), chosen, strict=True):
            saved = torch.load(p, weights_only=True)
            assert saved["confidence_sign"] == c["confidence_sign"]
            backbone, activation = load_attention(saved, manager=manager)
            attention.append(activation(backbone(x)))
    torch.testing.assert_close(attention[0], attention[1])


def test_without_tune_polarity_only_the_trained_sign_is_tuned(runs):
    grid = json.loads((runs / "runs/full/tuning.json").read_text())["grid"]
    assert {r["confidence_sign"] for r in grid} == {1}
    assert torch.load(runs / "runs/full/best.pt", weights_only=True)["confidence_sign"] == 1


def test_selection_dice_is_the_higher_of_the_two_signs_only_where_both_were_measured():
    assert selection_dice({"val_dice": 0.2}) == 0.2
    assert selection_dice({"val_dice": 0.05, "val_dice_negated": 0.3}) == 0.3
    assert selection_dice({"val_dice": 0.4, "val_dice_negated": 0.3}) == 0.4


def test_tune_polarity_records_the_negated_dice_and_selects_the_epoch_by_either_sign(runs, tmp_path):
    """F starts as the tiny run's trained F with its last layer negated, so the negated attention
    is the one on the discs, and the epoch is kept by that Dice."""
    state = torch.load(runs / "runs/full/best.pt", weights_only=True)
    inverted = {k: -v if k.startswith("head.") else v for k, v in state["state_dict"].items()}
    start = atomic_save(inverted, tmp_path / "inverted-f.pt")
    regularizers = [{"name": "sparsity", "params": {"inference": "image"}}, "smoothness"]  # A not empty
    backbone = {**tiny_config()["backbone"]}
    backbone["params"] = {**backbone["params"], "pretrained_path": str(start)}
    overrides = {"name": "signed", "epochs": 2, "regularizers": regularizers, "backbone": backbone}
    assert _train(_write(tmp_path, "signed.yaml", tune_polarity=True, **overrides)) == 0
    run = tmp_path / "runs" / "signed"
    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert all(h["val_dice_negated"] > h["val_dice"] for h in history)
    chosen = max(history, key=lambda h: h["val_dice_negated"])
    best = torch.load(run / "best.pt", weights_only=True)
    assert best["epoch"] == chosen["epoch"]
    checkpoint = torch.load(run / "checkpoint.pt", weights_only=True)
    assert checkpoint["best"]["dice"] == chosen["val_dice_negated"]
    assert best["confidence_sign"] == -1
    # it changes which epoch is kept, so a run cannot be resumed with it switched
    assert _train(_write(tmp_path, "signed.yaml", **{**overrides, "epochs": 3}), "--resume") == 2


def test_without_tune_polarity_epochs_record_no_negated_dice(runs):
    history = (runs / "runs/full/history.jsonl").read_text().splitlines()
    assert not any("val_dice_negated" in json.loads(line) for line in history)


def test_existing_run_without_resume_is_an_error(runs, capsys):
    assert _train(runs / "full.yaml") == 2
    assert "pass --resume" in capsys.readouterr().err


def test_resume_with_a_changed_config_is_an_error(runs, capsys):
    path = _write(runs, "changed.yaml", name="full", seed=4)
    assert _train(path, "--resume") == 2
    assert "different configuration" in capsys.readouterr().err


def test_regularizer_from_a_plugin_file_trains_end_to_end(tmp_path):
    """The example third-party `area-prior` regularizer, loaded with --plugin, in a tiny run."""
    config = _write(
        tmp_path,
        "exp.yaml",
        epochs=1,
        steps_per_epoch=1,
        held_out_batches=0,
        regularizers=["sparsity", {"name": "area-prior", "params": {"fraction": 0.1, "weight": 2.0}}],
    )
    reset_plugin_manager()
    code = main(
        ["--plugin", str(TINY_PLUGIN), "--plugin", str(AREA_PRIOR), "train", str(config), "--no-progress"]
    )
    assert code == 0
    record = json.loads((tmp_path / "runs/tiny/history.jsonl").read_text())
    assert record["loss/area-prior"] >= 0.0


def test_nan_loss_stops_with_the_term_named(tmp_path):
    manager = PluginManager()
    manager.load_file(TINY_PLUGIN)

    class Exploding:
        weight = 1.0

        def __call__(self, context):
            return context.attention.sum() * float("nan")

    manager.registries.regularizer.register("exploding", Exploding, plugin="test")
    path = _write(tmp_path, "exp.yaml", regularizers=["sparsity", "exploding"])
    config = resolve_config_paths(load_config(path, ExperimentConfig), path)
    with pytest.raises(TrainingDiverged, match="'exploding'"):
        train(config, manager=manager, progress=False)
    assert not (tmp_path / "runs/tiny/checkpoint.pt").exists()


def test_segmenter_loads_a_trained_checkpoint_and_segments_any_size(runs):
    from nucbench.plugins import get_plugin_manager

    manager = get_plugin_manager()
    manager.load_file(TINY_PLUGIN)
    segmenter = manager.create("segmenter", "scale-ssl", checkpoint=str(runs / "runs/full/best.pt"), tile=32,
                               overlap=8, tta=True)
    image = manager.create("dataset", "tiny-blobs", n=1)[0].image[:40, :50]
    labels = segmenter.segment(image)
    assert labels.shape == (40, 50) and labels.dtype.kind in "iu"
    attention = segmenter.attention(image)
    assert attention.min() >= 0.0 and attention.max() <= 1.0


def test_a_run_started_from_a_weights_file_loads_without_it(tmp_path):
    """best.pt holds the trained F: the file training started from is not needed to load it."""
    from nucbench.plugins import get_plugin_manager
    from nucbench.train import load_attention

    params = tiny_config()["backbone"]["params"]
    start = tmp_path / "start.pt"
    untrained = get_plugin_manager().create("attention-backbone", "dilated-lite", **params)
    torch.save(untrained.state_dict(), start)
    backbone = {"name": "dilated-lite", "params": {**params, "pretrained_path": str(start)}}
    assert _train(_write(tmp_path, "exp.yaml", epochs=1, backbone=backbone)) == 0
    start.unlink()
    best = torch.load(tmp_path / "runs/tiny/best.pt", weights_only=True)
    assert best["backbone"]["params"] == params
    f, _ = load_attention(best)
    assert all(torch.equal(v, f.state_dict()[k]) for k, v in best["state_dict"].items())


def test_a_run_started_from_a_weights_file_resumes_without_it(tmp_path):
    """The checkpoint holds F: --resume (and scoring the checkpoint) must not need the start file,
    and the resumed run still ends where the uninterrupted one does."""
    from nucbench.plugins import get_plugin_manager

    params = tiny_config()["backbone"]["params"]
    start = tmp_path / "start.pt"
    torch.manual_seed(7)
    untrained = get_plugin_manager().create("attention-backbone", "dilated-lite", **params)
    torch.save(untrained.state_dict(), start)
    backbone = {"name": "dilated-lite", "params": {**params, "pretrained_path": str(start)}}
    assert _train(_write(tmp_path, "full.yaml", name="full", epochs=2, backbone=backbone)) == 0
    assert _train(_write(tmp_path, "part.yaml", name="part", epochs=1, backbone=backbone)) == 0
    start.unlink()
    part = _write(tmp_path, "part.yaml", name="part", epochs=2, backbone=backbone)
    assert _train(part, "--resume") == 0
    full = torch.load(tmp_path / "runs/full/checkpoint.pt", weights_only=True)["model"]
    resumed = torch.load(tmp_path / "runs/part/checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(full[k], resumed[k]) for k in full)
    manager = PluginManager()
    manager.load_file(TINY_PLUGIN)
    config = resolve_config_paths(load_config(part, ExperimentConfig), part)
    assert 0.0 <= pretext_accuracy(config, tmp_path / "runs/part/checkpoint.pt", manager=manager) <= 1.0


def test_segmenter_reports_a_missing_checkpoint(tmp_path):
    from nucbench import InputError
    from nucbench.plugins import get_plugin_manager

    with pytest.raises(InputError, match="no such file"):
        get_plugin_manager().create("segmenter", "scale-ssl", checkpoint=str(tmp_path / "nope.pt"))


def test_initial_validation_scores_the_model_train_starts_from(tmp_path):
    """Epoch-0 figures: F seeded as train() seeds it, its top 7 % (inference: image) and its bottom
    pixels against the nuclei, as every epoch's validation measures A."""
    import numpy as np

    from nucbench.infer import attention_map
    from nucbench.train import dice, initial_validation

    manager = PluginManager()
    manager.load_file(TINY_PLUGIN)
    regularizers = [{"name": "sparsity", "params": {"inference": "image"}}, "smoothness"]
    path = _write(tmp_path, "exp.yaml", regularizers=regularizers, precision="fp32", seed=0)
    config = resolve_config_paths(load_config(path, ExperimentConfig), path)
    record = initial_validation(config, manager=manager)

    def by_hand(seed):
        torch.manual_seed(seed)
        backbone = manager.create("attention-backbone", "dilated-lite", width=4, dilations=[1, 2]).eval()
        backbone.to(memory_format=torch.channels_last)
        dataset = manager.create("dataset", "tiny-blobs", n=2, size=192)
        top, bottom, fraction = [], [], []
        for i in range(len(dataset)):
            sample = dataset[i]
            # the same tiling and memory format as validation: the flat synthetic background puts
            # the 93rd percentile on ties that any rounding difference would flip
            conf = attention_map(
                backbone, lambda c: c, sample.image, tile=1024, overlap=256, channels_last=True
            )
            t = torch.from_numpy(conf)  # eq. (1): A = sigmoid(r (a - tau)), r = 20, in float32
            attended = (torch.sigmoid(20 * (t - torch.quantile(t.flatten(), 0.93))) > 0.5).numpy()
            fraction.append(attended.mean())
            top.append(dice(attended, sample.labels > 0))
            bottom.append(dice(conf < np.quantile(conf, attended.mean()), sample.labels > 0))
        return np.mean(top), np.mean(bottom), np.mean(fraction)

    top, bottom, fraction = by_hand(config.seed)
    assert record["val_dice"] == pytest.approx(top, abs=0.01)
    assert record["val_dice_inverted"] == pytest.approx(bottom, abs=0.01)
    assert record["val_attended_fraction"] == pytest.approx(fraction, abs=0.005)
    assert record["val_scale_accuracy"] in {i / 6 for i in range(7)}
    other = initial_validation(config.model_copy(update={"seed": 1}), manager=manager)
    assert (other["val_dice"], other["val_dice_inverted"]) == pytest.approx(by_hand(1)[:2], abs=0.01)
    assert abs(other["val_dice"] - record["val_dice"]) > 0.1  # seed 1's F points away from the disks
