"""The generic training loop for self-supervised pretext tasks with an attention backbone.

One step: sample a batch from the pretext task's sampler, ``a = F(I)``, ``A = activate(a)``,
``J = task.head_input(I, A)``, ``L = task.loss(G(J), y) + Σ weight_k · R_k(context)``, Adam step.
Every epoch: validation Dice of ``A > 0.5`` against the validation tiles' nuclei masks, held-out
pretext accuracy on crops of those tiles, an atomic checkpoint (weights, optimiser, sampler and
RNG states), and the best weights by Dice. After the last epoch the post-processor's parameters are
tuned on the validation tiles (mean AJI over the ``tuning`` grid).

The core knows only interfaces. A pretext task (kind ``pretext-task``) provides::

    build_head() -> nn.Module                      # G
    make_sampler(images, *, batch_size, crop_size, seed) -> sampler
        # images: tiles, or a dataset's crop_sources() (whole slides) when it has that method
        # sampler.sample() -> (N×S×S×3 uint8, N int64); state_dict() / load_state_dict()
    head_input(images, attention) -> Tensor        # e.g. A ⊙ I
    loss(output, targets) -> Tensor
    correct(output, targets) -> int

The attention backbone (kind ``attention-backbone``) is an ``nn.Module`` mapping N×3×H×W to
N×1×H×W confidence. The first regularizer with an ``activate(confidence, *, update_stats)``
method turns confidence into attention (``sparsity``); otherwise ``A = sigmoid(a)``.
Regularizers that are ``nn.Module``\\s have their state (e.g. the EMA of τ) checkpointed.

Files written to ``output_dir/name``: ``checkpoint.pt`` (last epoch, for ``--resume``),
``best.pt`` (what a segmenter loads), ``history.jsonl``, ``train.log``, ``config.json``.
All ``.pt`` files load with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nucbench.atomic import atomic_path
from nucbench.config import ComponentSpec, ExperimentConfig
from nucbench.errors import ConfigError, InputError, NucbenchError

__all__ = [
    "TrainingDiverged",
    "TrainResult",
    "train",
    "atomic_save",
    "dice",
    "build_attention",
    "resolve_config_paths",
    "tune_post_processor",
    "selection_dice",
    "pretext_accuracy",
    "initial_validation",
    "load_attention",
    "build_model",
]

log = logging.getLogger("nucbench.train")

CHECKPOINT_FORMAT = 1
# Fields that may change between an interrupted run and its resumption.
_RESUMABLE_FIELDS = {"epochs", "tracking", "output_dir", "tuning"}


class TrainingDiverged(NucbenchError):
    """A loss term became NaN or infinite."""


@dataclass(frozen=True)
class TrainResult:
    """Where a finished run wrote its files and what it reached."""

    run_dir: Path
    best_checkpoint: Path
    best_epoch: int
    best_dice: float
    post_processor: dict[str, Any] | None


def atomic_save(obj: Any, path: Path) -> Path:
    """``torch.save`` to a temporary file in the same folder, then ``os.replace``."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return path


def _atomic_write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def dice(prediction: np.ndarray, truth: np.ndarray) -> float:
    """Dice coefficient of two binary masks (1.0 when both are empty).

    Examples
    --------
    >>> a = np.zeros((4, 4), bool); a[:2] = True   # 8 pixels
    >>> b = np.zeros((4, 4), bool); b[1:3] = True  # 8 pixels, 4 shared
    >>> dice(a, b)  # 2·4 / (8 + 8)
    0.5
    """
    p, t = prediction.astype(bool), truth.astype(bool)
    total = int(p.sum()) + int(t.sum())
    return 1.0 if total == 0 else 2.0 * int((p & t).sum()) / total


def resolve_config_paths(config: ExperimentConfig, config_path: str | Path | None) -> ExperimentConfig:
    """Make ``output_dir`` absolute, relative to the config file's folder (or the cwd)."""
    base = Path(config_path).resolve().parent if config_path else Path.cwd()
    out = config.output_dir if config.output_dir.is_absolute() else base / config.output_dir
    return config.model_copy(update={"output_dir": out})


def _config_hash(config: ExperimentConfig) -> str:
    data = config.model_dump(mode="json", exclude=_RESUMABLE_FIELDS)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def build_model(
    config: ExperimentConfig, *, manager: Any = None, start_weights: bool = True
) -> tuple[Any, Any, list[Any], Any, Any]:
    """``(task, backbone, regularizers, head, model)``: the plugins of `config`, drawn after
    ``torch.manual_seed(config.seed)`` in the order :func:`train` draws them (the untrained model of
    that seed), and the module whose state dict a training checkpoint holds (backbone, head,
    regularizers with state).

    ``start_weights=False`` leaves out the ``pretrained_path`` files F and G start from, for a
    model whose weights are loaded from a checkpoint next (``--resume``, scoring a checkpoint):
    the files need not exist any more, and no random draw depends on them.
    """
    import torch

    from nucbench.plugins import get_plugin_manager

    manager = manager or get_plugin_manager()
    task_params, backbone_params = config.pretext_task.params, config.backbone.params
    if not start_weights:
        task_params, backbone_params = _rebuild_params(task_params), _rebuild_params(backbone_params)
    torch.manual_seed(config.seed)
    task = manager.create("pretext-task", config.pretext_task.name, **task_params)
    backbone = manager.create("attention-backbone", config.backbone.name, **backbone_params)
    regularizers = [manager.create("regularizer", r.name, **r.params) for r in config.regularizers]
    head = task.build_head()
    reg_modules = torch.nn.ModuleList([r for r in regularizers if isinstance(r, torch.nn.Module)])
    model = torch.nn.ModuleDict({"backbone": backbone, "head": head, "regularizers": reg_modules})
    return task, backbone, regularizers, head, model


def build_attention(backbone: Any, regularizers: Sequence[Any]):
    """``(activation, attend)``: the confidence→attention map and ``attend(images) -> A``."""
    import torch

    activator = next((r for r in regularizers if callable(getattr(r, "activate", None))), None)

    def activation(confidence: torch.Tensor, *, update_stats: bool = False) -> torch.Tensor:
        if activator is None:
            return torch.sigmoid(confidence)
        return activator.activate(confidence, update_stats=update_stats)

    def attend(images: torch.Tensor) -> torch.Tensor:
        return activation(backbone(images), update_stats=False)

    return activation, attend, activator


def _to_tensor(crops: np.ndarray, channels_last: bool):
    import torch

    x = torch.from_numpy(crops).permute(0, 3, 1, 2).float().div_(255.0)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()


def _load_images(
    manager: Any, spec: ComponentSpec, *, normalise: bool, need_labels: bool, where: str
) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    dataset = manager.create("dataset", spec.name, **spec.params)
    if callable(getattr(dataset, "crop_sources", None)):  # whole slides (dataset 'slides'): read as sampled
        if need_labels:
            raise InputError(
                f"{where}: dataset '{spec.name}' gives unlabelled slides; validation needs labelled tiles"
            )
        sources = dataset.crop_sources(stain_normalize=normalise)
        return sources, [None] * len(sources)
    images, masks = [], []
    for i in range(len(dataset)):
        sample = dataset[i]
        image = sample.image
        if normalise:
            from nucbench.data.stain import reinhard_normalise

            image = reinhard_normalise(image)
        images.append(image)
        if need_labels:
            if sample.labels is None:
                raise InputError(
                    f"{where}: dataset '{spec.name}' sample {sample.id} has no labels; "
                    "validation needs nuclei labels"
                )
            masks.append(sample.labels > 0)
        else:
            masks.append(None)
    if not images:
        raise InputError(f"{where}: dataset '{spec.name}' is empty")
    return images, masks


class _Tracker:
    """Minimal MLflow logging for one training run (``tracking: {name: mlflow, params: {...}}``)."""

    def __init__(self, spec: ComponentSpec | None, run_dir: Path, run_id: str | None) -> None:
        self.run = None
        if spec is None or spec.name == "none":
            return
        if spec.name != "mlflow":
            raise ConfigError(f"tracking: unknown tracker '{spec.name}' for training; use mlflow or none")
        import mlflow

        uri = spec.params.get("uri") or f"sqlite:///{run_dir.parent / 'mlflow.db'}"
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment(spec.params.get("experiment", "nucbench-train"))
        self.mlflow = mlflow
        self.run = mlflow.start_run(run_id=run_id, run_name=run_dir.name)

    @property
    def run_id(self) -> str | None:
        return None if self.run is None else self.run.info.run_id

    def params(self, params: Mapping[str, Any]) -> None:
        if self.run is not None:
            flat = _flatten(params)
            self.mlflow.log_params({k: str(v)[:500] for k, v in flat.items()})

    def metrics(self, metrics: Mapping[str, float], step: int) -> None:
        if self.run is not None:
            self.mlflow.log_metrics({k: float(v) for k, v in metrics.items()}, step=step)

    def artifact(self, path: Path) -> None:
        if self.run is not None:
            self.mlflow.log_artifact(str(path))

    def close(self, status: str = "FINISHED") -> None:
        if self.run is not None:
            self.mlflow.end_run(status=status)
            self.run = None


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, Mapping):
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    if isinstance(data, list) and data and all(isinstance(v, Mapping) for v in data):
        out = {}
        for i, v in enumerate(data):
            out.update(_flatten(v, f"{prefix}{i}."))
        return out
    return {prefix[:-1]: data}


def train(
    config: ExperimentConfig, *, resume: bool = False, manager: Any = None, progress: bool = True
) -> TrainResult:
    """Train, validate, checkpoint and tune a self-supervised attention model.

    Parameters
    ----------
    config : ExperimentConfig
        The experiment (paths already resolved, see :func:`resolve_config_paths`).
    resume : bool
        Continue from ``output_dir/name/checkpoint.pt`` bit for bit (same batches, same
        random draws); the config may differ only in ``epochs``, ``tuning``, ``tracking`` and
        ``output_dir``. Without it an existing checkpoint is an error.
    manager : PluginManager, optional
        Where plugins are created (default: the process-wide manager).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    TrainResult

    Raises
    ------
    InputError
        A checkpoint exists and `resume` is False, or `resume` is True and none exists, or the
        checkpoint was written by a different configuration.
    TrainingDiverged
        A loss term became NaN or infinite (the message names the term).
    """
    import torch
    from tqdm.auto import tqdm

    from nucbench.plugins import get_plugin_manager
    from nucbench.precision import autocast, choose_precision

    manager = manager or get_plugin_manager()
    run_dir = Path(config.output_dir) / config.name
    ckpt_path, best_path = run_dir / "checkpoint.pt", run_dir / "best.pt"
    history_path = run_dir / "history.jsonl"
    if ckpt_path.exists() and not resume:
        raise InputError(
            f"{ckpt_path}: a run already exists here; pass --resume to continue it, "
            "or change 'name' / 'output_dir'"
        )
    if resume and not ckpt_path.exists():
        raise InputError(f"{ckpt_path}: nothing to resume (no checkpoint)")
    run_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(run_dir / "train.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    tracker: _Tracker | None = None
    try:
        precision = choose_precision(config.device, config.precision, channels_last=config.channels_last)
        log.info("precision: %s", precision.as_dict())
        device = torch.device(config.device)

        task, backbone, regularizers, head, model = build_model(
            config, manager=manager, start_weights=not resume
        )
        model.to(device)
        if precision.channels_last:
            model.to(memory_format=torch.channels_last)
        activation, attend, activator = build_attention(backbone, regularizers)
        optimizer = torch.optim.Adam(
            itertools.chain(backbone.parameters(), head.parameters()),
            lr=config.optimizer.lr,
            weight_decay=config.optimizer.weight_decay,
            betas=config.optimizer.betas,
        )

        train_images, _ = _load_images(
            manager,
            config.train_data,
            normalise=config.stain_normalize,
            need_labels=False,
            where="train_data",
        )
        sampler = task.make_sampler(
            train_images, batch_size=config.batch_size, crop_size=config.crop_size, seed=config.seed
        )
        val_images: list[np.ndarray] = []
        val_masks: list[Any] = []
        if config.val_data is not None:
            val_images, val_masks = _load_images(
                manager, config.val_data, normalise=config.stain_normalize, need_labels=True, where="val_data"
            )

        start_epoch, history, best = 0, [], {"epoch": -1, "dice": -1.0}
        mlflow_run_id = None
        if resume:
            state = torch.load(ckpt_path, map_location="cpu", weights_only=True)
            if state.get("config_hash") != _config_hash(config):
                raise InputError(
                    f"{ckpt_path}: written by a different configuration (only epochs, tuning, "
                    "tracking and output_dir may change on --resume)"
                )
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            sampler.load_state_dict(state["sampler"])
            torch.set_rng_state(state["torch_rng"])
            start_epoch, history, best = state["epoch"], list(state["history"]), dict(state["best"])
            mlflow_run_id = state.get("mlflow_run_id")
            log.info("resumed from %s after epoch %d", ckpt_path, start_epoch)
        tracker = _Tracker(config.tracking, run_dir, mlflow_run_id)
        if not resume:
            _atomic_write_text(run_dir / "config.json", config.model_dump_json(indent=2))
            history_path.unlink(missing_ok=True)
            tracker.params({**config.model_dump(mode="json"), "precision": precision.as_dict()})

        step = start_epoch * config.steps_per_epoch
        for epoch in range(start_epoch, config.epochs):
            model.train()
            sums: dict[str, float] = {}
            started = time.perf_counter()
            bar = tqdm(
                range(config.steps_per_epoch),
                desc=f"epoch {epoch + 1}/{config.epochs}",
                disable=not progress,
                leave=False,
            )
            for _ in bar:
                crops, targets = sampler.sample()
                images = _to_tensor(crops, precision.channels_last).to(device)
                targets_t = torch.from_numpy(targets).to(device)
                with autocast(precision):
                    confidence = backbone(images)
                    attention = activation(confidence, update_stats=True)
                    output = head(task.head_input(images, attention))
                    terms = {
                        "scale"
                        if config.pretext_task.name == "scale-classification"
                        else config.pretext_task.name: task.loss(output, targets_t)
                    }
                    if regularizers:
                        from nucbench.interfaces import RegularizerContext

                        context = RegularizerContext(
                            images=images,
                            confidence=confidence,
                            attention=attention,
                            attend=attend,
                            step=step,
                            targets=targets_t,
                        )
                        for spec, reg in zip(config.regularizers, regularizers, strict=True):
                            if reg.weight:
                                terms[spec.name] = reg.weight * reg(context)
                loss = sum(terms.values())
                for name, value in terms.items():
                    if not bool(torch.isfinite(value)):
                        raise TrainingDiverged(
                            f"{run_dir}: loss term '{name}' became {float(value.detach())} at epoch "
                            f"{epoch + 1}, step {step + 1}; lower the learning rate or that term's weight"
                        )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                step += 1
                for name, value in terms.items():
                    sums[name] = sums.get(name, 0.0) + float(value.detach())
                done = bar.n + 1
                rate = done * config.batch_size / (time.perf_counter() - started)
                bar.set_postfix({**{k: f"{v / done:.3f}" for k, v in sums.items()}, "img/s": f"{rate:.1f}"})
            bar.close()
            train_time = time.perf_counter() - started
            record: dict[str, Any] = {
                "epoch": epoch + 1,
                "step": step,
                **{f"loss/{k}": v / config.steps_per_epoch for k, v in sums.items()},
                "train_seconds": round(train_time, 2),
                "samples_per_second": config.steps_per_epoch * config.batch_size / train_time,
            }
            if activator is not None and hasattr(activator, "tau_ema"):
                record["tau_ema"] = float(activator.tau_ema)
            if val_images:
                model.eval()
                signs = (1, -1) if config.tune_polarity else (1,)
                maps = _signed_attention_maps(backbone, activation, val_images, precision, signs)
                record["val_dice"] = _mean_dice(maps[1], val_masks)
                record["val_attended_fraction"] = float(np.mean([(m > 0.5).mean() for m in maps[1]]))
                if config.tune_polarity:
                    record["val_dice_negated"] = _mean_dice(maps[-1], val_masks)
                if config.held_out_batches:
                    record["val_scale_accuracy"] = _held_out_accuracy(
                        task, backbone, head, activator, val_images, config, precision
                    )
                model.train()
            if val_images and (selected := selection_dice(record)) > best["dice"]:
                best = {"epoch": epoch + 1, "dice": selected}
                atomic_save(_best_state(config, backbone, activator, regularizers, record), best_path)
            elif not val_images:
                best = {"epoch": epoch + 1, "dice": float("nan")}
                atomic_save(_best_state(config, backbone, activator, regularizers, record), best_path)
            history.append(record)
            log.info("epoch %d: %s", epoch + 1, json.dumps(record))
            with open(history_path, "a") as fh:
                fh.write(json.dumps(record) + "\n")
            atomic_save(
                {
                    "format": CHECKPOINT_FORMAT,
                    "config_hash": _config_hash(config),
                    "epoch": epoch + 1,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "sampler": sampler.state_dict(),
                    "torch_rng": torch.get_rng_state(),
                    "history": history,
                    "best": best,
                    "mlflow_run_id": tracker.run_id,
                },
                ckpt_path,
            )
            tracker.metrics(
                {k: v for k, v in record.items() if isinstance(v, int | float) and k != "epoch"},
                step=epoch + 1,
            )
            if progress:
                summary = ", ".join(
                    f"{k} {v:.4g}"
                    for k, v in record.items()
                    if isinstance(v, float) and not k.startswith("train_")
                )
                tqdm.write(f"epoch {epoch + 1}/{config.epochs}: {summary}")

        post = None
        if val_images:
            post = tune_post_processor(best_path, config, val_images, manager=manager, progress=progress)
        tracker.artifact(best_path)
        tracker.metrics({"best_val_dice": best["dice"], "best_epoch": best["epoch"]}, step=config.epochs)
        tracker.close()
        return TrainResult(run_dir, best_path, int(best["epoch"]), float(best["dice"]), post)
    except BaseException:
        if tracker is not None:
            tracker.close("FAILED")
        raise
    finally:
        log.removeHandler(handler)
        handler.close()


def _best_state(
    config: ExperimentConfig,
    backbone: Any,
    activator: Any,
    regularizers: Sequence[Any],
    record: Mapping[str, Any],
) -> dict[str, Any]:
    """What a segmenter needs: F's spec and weights, the activation, stain normalisation."""
    activation = None
    if activator is not None:
        index = list(regularizers).index(activator)
        spec = config.regularizers[index]
        activation = {
            "name": spec.name,
            "params": dict(spec.params),
            "state_dict": activator.state_dict() if hasattr(activator, "state_dict") else {},
        }
    return {
        "format": CHECKPOINT_FORMAT,
        "backbone": {"name": config.backbone.name, "params": _rebuild_params(config.backbone.params)},
        "state_dict": {k: v.detach().clone().contiguous() for k, v in backbone.state_dict().items()},
        "activation": activation,
        "stain_normalize": config.stain_normalize,
        "epoch": int(record["epoch"]),
        "val_dice": float(record.get("val_dice", float("nan"))),
        "post_processor": {"name": config.post_processor.name, "params": dict(config.post_processor.params)},
        "experiment": config.name,
    }


def _confidence_maps(backbone: Any, images: Sequence[np.ndarray], precision: Any) -> list[np.ndarray]:
    """F's confidence of each whole image (tiled as the segmenter tiles it), before any activation."""
    from nucbench.infer import attention_map
    from nucbench.precision import autocast

    def predict(batch):
        with autocast(precision):
            return backbone(batch)

    return [
        attention_map(
            predict, lambda c: c, image, tile=1024, overlap=256, channels_last=precision.channels_last
        )
        for image in images
    ]


def _activate(activation: Any, confidences: Sequence[np.ndarray], sign: int = 1) -> list[np.ndarray]:
    """A of each confidence map at `sign` (:func:`_signed`).

    :func:`~nucbench.infer.attention_map` applies the activation once to the whole image's
    confidence, so activating a stored confidence here gives the A it would give, and one pass of
    F serves both signs.
    """
    import torch

    signed = _signed(activation, sign)
    with torch.inference_mode():
        return [signed(torch.from_numpy(c)[None, None])[0, 0].float().numpy() for c in confidences]


def _signed_attention_maps(
    backbone: Any, activation: Any, images: Sequence[np.ndarray], precision: Any, signs: Sequence[int]
) -> dict[int, list[np.ndarray]]:
    """A of each image for each sign of the confidence, from one pass of F."""
    confidences = _confidence_maps(backbone, images, precision)
    return {sign: _activate(activation, confidences, sign) for sign in signs}


def _mean_dice(maps: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> float:
    """Mean Dice of ``A > 0.5`` against the nuclei masks."""
    return float(np.mean([dice(m > 0.5, t) for m, t in zip(maps, masks, strict=True)]))


def _held_out_accuracy(
    task: Any,
    backbone: Any,
    head: Any,
    activator: Any,
    images: Sequence[np.ndarray],
    config: ExperimentConfig,
    precision: Any,
) -> float:
    """Pretext accuracy on crops of the validation tiles (fixed seed: same crops every epoch).

    G is scored on the attention it was trained with: the activation regularizer in its training
    form (sparsity: τ from the batch, statistics not updated), not its inference form. Each
    image's own percentile, say, fixes the attended fraction of every crop and so removes a cue
    the training batches carried.
    """
    import torch

    from nucbench.precision import autocast

    def activation(confidence: torch.Tensor) -> torch.Tensor:
        if activator is None:
            return torch.sigmoid(confidence)
        mode = activator.training
        activator.train()
        try:
            return activator.activate(confidence, update_stats=False)
        finally:
            activator.train(mode)

    sampler = task.make_sampler(
        images, batch_size=config.batch_size, crop_size=config.crop_size, seed=10_000 + config.seed
    )
    correct = total = 0
    with torch.inference_mode():
        for _ in range(config.held_out_batches):
            crops, targets = sampler.sample()
            x = _to_tensor(crops, precision.channels_last)
            with autocast(precision):
                out = head(task.head_input(x, activation(backbone(x))))
            correct += task.correct(out.float(), torch.from_numpy(targets))
            total += len(targets)
    return correct / total


@dataclass
class _ValidationSetup:
    precision: Any
    task: Any
    backbone: Any
    regularizers: list[Any]
    head: Any
    model: Any
    images: list[np.ndarray]
    masks: list[np.ndarray | None]


def _validation_setup(
    config: ExperimentConfig, manager: Any, *, start_weights: bool = True
) -> _ValidationSetup:
    """The model of `config` as :func:`train` builds it (seeded), in eval mode, and the validation
    tiles (`start_weights` as in :func:`build_model`)."""
    import torch

    from nucbench.plugins import get_plugin_manager
    from nucbench.precision import choose_precision

    manager = manager or get_plugin_manager()
    precision = choose_precision(config.device, config.precision, channels_last=config.channels_last)
    task, backbone, regularizers, head, model = build_model(
        config, manager=manager, start_weights=start_weights
    )
    model.eval()
    if precision.channels_last:
        model.to(memory_format=torch.channels_last)
    images, masks = _load_images(
        manager, config.val_data, normalise=config.stain_normalize, need_labels=True, where="val_data"
    )
    return _ValidationSetup(precision, task, backbone, regularizers, head, model, images, masks)


def pretext_accuracy(config: ExperimentConfig, checkpoint: Path, *, manager: Any = None) -> float:
    """Held-out pretext accuracy of a training checkpoint (``checkpoint.pt``: F, G and regularizers).

    The same crops of the validation tiles (``config.held_out_batches`` batches, fixed seed) and
    the same scoring as the per-epoch ``val_scale_accuracy`` of :func:`train`.
    """
    import torch

    if config.val_data is None or not config.held_out_batches:
        raise ConfigError("pretext_accuracy needs val_data and held_out_batches > 0 in the config")
    setup = _validation_setup(config, manager, start_weights=False)
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    setup.model.load_state_dict(state["model"])
    _, _, activator = build_attention(setup.backbone, setup.regularizers)
    return _held_out_accuracy(
        setup.task, setup.backbone, setup.head, activator, setup.images, config, setup.precision
    )


def initial_validation(config: ExperimentConfig, *, manager: Any = None) -> dict[str, float]:
    """What validation measures of the *untrained* model: the Dice of A and its polarity.

    The model is built as :func:`train` builds it (``torch.manual_seed(config.seed)``, then the
    plugins of `config`), so these are the figures an "epoch 0" would record. A randomly
    initialised F already responds to stain contrast, with a sign set by its seed, so a run's
    validation Dice says what training added only next to this one.

    Returns ``val_dice`` (``A > 0.5`` against the nuclei, as every epoch records it),
    ``val_attended_fraction``, ``val_dice_inverted`` (the same fraction of *lowest*-confidence
    pixels: an F that points away from the nuclei scores high here) and ``val_scale_accuracy``
    (held-out pretext accuracy of the untrained F and G, about chance).
    """
    if config.val_data is None:
        raise ConfigError("initial_validation needs val_data in the config")
    setup = _validation_setup(config, manager)
    activation, _, activator = build_attention(setup.backbone, setup.regularizers)
    confidences = _confidence_maps(setup.backbone, setup.images, setup.precision)
    maps = _activate(activation, confidences)
    dices, fractions, inverted = [], [], []
    for conf, a, truth in zip(confidences, maps, setup.masks, strict=True):
        attended = a > 0.5
        fraction = float(attended.mean())
        dices.append(dice(attended, truth))
        fractions.append(fraction)
        inverted.append(dice(conf < np.quantile(conf, fraction), truth) if fraction > 0 else 0.0)
    record = {
        "val_dice": float(np.mean(dices)),
        "val_attended_fraction": float(np.mean(fractions)),
        "val_dice_inverted": float(np.mean(inverted)),
    }
    if config.held_out_batches:
        record["val_scale_accuracy"] = _held_out_accuracy(
            setup.task, setup.backbone, setup.head, activator, setup.images, config, setup.precision
        )
    return record


def tune_post_processor(
    best_path: Path,
    config: ExperimentConfig,
    val_images: Sequence[np.ndarray],
    *,
    manager: Any = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Grid-search the post-processor's parameters on the validation tiles (mean AJI); store them in best.pt.

    The grid is ``config.tuning`` (parameter → list of values) over the base
    ``config.post_processor.params``; an empty grid scores the base parameters only. With
    ``config.tune_polarity`` every grid point is also scored on the attention of the negated
    confidence, and the winning sign is stored as ``confidence_sign`` (1 or -1), which
    :func:`load_attention` applies. The scale task does not fix which side of the nuclei an F
    lights up; validation, like every other post-processing choice, does.
    Writes ``tuning.json`` beside the checkpoint and returns
    ``{"name", "params", "confidence_sign", "val_aji"}``.
    """
    import torch
    from tqdm.auto import tqdm

    from nucbench.plugins import get_plugin_manager
    from nucbench.precision import choose_precision

    manager = manager or get_plugin_manager()
    state = torch.load(best_path, map_location="cpu", weights_only=True)
    backbone, activation = load_attention({**state, "confidence_sign": 1}, manager=manager)
    precision = choose_precision(config.device, config.precision, channels_last=config.channels_last)
    signs = (1, -1) if config.tune_polarity else (int(state.get("confidence_sign", 1)),)
    maps = _signed_attention_maps(backbone, activation, val_images, precision, signs)
    dataset = manager.create("dataset", config.val_data.name, **config.val_data.params)
    truths = [dataset[i].labels for i in range(len(dataset))]
    aji = manager.create("metric", "aji")
    keys = sorted(config.tuning)
    grid = [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*(config.tuning[k] for k in keys))
    ]
    candidates = [(sign, overrides) for sign in signs for overrides in grid or [{}]]
    results = []
    for sign, overrides in tqdm(candidates, desc="tuning post-processing", disable=not progress, leave=False):
        params = {**config.post_processor.params, **overrides}
        post = manager.create("post-processor", config.post_processor.name, **params)
        scores = [float(aji(t, post(m))) for m, t in zip(maps[sign], truths, strict=True)]
        results.append({"params": params, "confidence_sign": sign, "val_aji": float(np.mean(scores))})
    best = max(results, key=lambda r: r["val_aji"])
    chosen = {"name": config.post_processor.name, **best}
    state["post_processor"] = {"name": chosen["name"], "params": chosen["params"]}
    state["confidence_sign"] = chosen["confidence_sign"]
    state["val_aji"] = chosen["val_aji"]
    atomic_save(state, best_path)
    _atomic_write_text(
        best_path.parent / "tuning.json", json.dumps({"chosen": chosen, "grid": results}, indent=2)
    )
    log.info("post-processing tuned on %d validation tiles: %s", len(val_images), json.dumps(chosen))
    return chosen


def selection_dice(record: Mapping[str, Any]) -> float:
    """The validation Dice an epoch is selected by: of A, or with ``tune_polarity`` of A or of the
    negated confidence's A, whichever is higher (the sign itself is chosen by tuning afterwards)."""
    return max(record["val_dice"], record.get("val_dice_negated", float("-inf")))


def _signed(activation: Any, sign: int) -> Any:
    """`activation` of the confidence times `sign` (-1: an inverted F's attention)."""
    if sign == 1:
        return activation
    return lambda confidence: activation(-confidence)


def _rebuild_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` of a module whose trained weights are loaded next, without ``pretrained_path``.

    ``pretrained_path`` (the plugins' convention for a starting weights file) only chooses where
    training starts; a ``best.pt`` holds the trained weights, so it must load where that file is not.
    """
    return {k: v for k, v in params.items() if k != "pretrained_path"}


def load_attention(state: Mapping[str, Any], *, manager: Any = None):
    """Rebuild ``(backbone, activation)`` in eval mode from a ``best.pt`` state.

    ``activation(confidence) -> A`` uses the checkpointed activation regularizer (e.g. sparsity
    with its EMA of τ), else the plain sigmoid, applied to the confidence times the state's
    ``confidence_sign`` (1 where absent; -1 where tuning chose an inverted F's least confident pixels).
    """
    import torch

    from nucbench.plugins import get_plugin_manager

    manager = manager or get_plugin_manager()
    spec = state["backbone"]
    backbone = manager.create("attention-backbone", spec["name"], **_rebuild_params(spec["params"]))
    backbone.load_state_dict(state["state_dict"])
    backbone.eval()
    act = state.get("activation")
    if act:
        activator = manager.create("regularizer", act["name"], **act["params"])
        if act.get("state_dict") and hasattr(activator, "load_state_dict"):
            activator.load_state_dict(act["state_dict"])
        if hasattr(activator, "eval"):
            activator.eval()

        def activation(confidence: torch.Tensor) -> torch.Tensor:
            return activator.activate(confidence)
    else:

        def activation(confidence: torch.Tensor) -> torch.Tensor:
            return torch.sigmoid(confidence)

    return backbone, _signed(activation, int(state.get("confidence_sign", 1)))
