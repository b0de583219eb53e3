"""Start a module of the model from a LOCAL weights file (no hub downloads at run time).

The file may hold the module's state dict, a ``best.pt`` (``state_dict``: F) or a training
``checkpoint.pt`` (``model``: F under ``backbone.``, G under ``head.``), so one run can start from
another's weights, trained or untrained (``benchmarks/ssl_untrained.py``).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
from torch import nn

from nucbench import InputError

__all__ = ["load_weights"]


def load_weights(
    module: nn.Module, path: str | Path, *, owner: str, part: str, optional: str | None = None
) -> None:
    """Load `module`'s weights from `path`, every entry or an :class:`InputError` naming the file.

    Parameters
    ----------
    module : nn.Module
        The freshly initialised module; it keeps its weights if loading fails.
    path : str or Path
        The weights file.
    owner : str
        Who loads, for the error message (e.g. ``"attention backbone"``).
    part : str
        The module's key prefix in a training checkpoint: ``"backbone"`` (F) or ``"head"`` (G).
    optional : str, optional
        A key prefix whose entries may be missing from the file or of another shape and then keep
        their random initialisation: G's classification layer, so that weights of an ImageNet
        classifier (1000 classes) start a 3-class scale classifier.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"{owner}: pretrained_path {path}: no such file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as exc:
        raise InputError(f"{owner}: pretrained_path {path}: not a weights file ({exc})") from None
    if isinstance(state, dict) and isinstance(state.get("model"), dict):  # checkpoint.pt
        prefix = f"{part}."
        state = {k[len(prefix) :]: v for k, v in state["model"].items() if k.startswith(prefix)}
    elif isinstance(state, dict) and isinstance(state.get("state_dict"), dict):  # best.pt
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise InputError(f"{owner}: pretrained_path {path}: not a state dict")
    own = module.state_dict()

    def fits(key: str) -> bool:
        return key in state and torch.is_tensor(state[key]) and state[key].shape == own[key].shape

    def may_skip(key: str) -> bool:
        return optional is not None and key.startswith(f"{optional}.")

    wrong = sorted(k for k in own if not fits(k) and not may_skip(k))
    wrong += sorted(k for k in state if k not in own)
    if wrong:
        raise InputError(
            f"{owner}: pretrained_path {path}: not weights of this model "
            f"({len(wrong)} missing, unexpected or misshapen entries, e.g. {wrong[0]!r})"
        )
    module.load_state_dict({k: state[k] for k in own if fits(k)}, strict=False)
