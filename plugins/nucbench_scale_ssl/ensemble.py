"""Ensembles of trained attention networks: several F's whose attention maps are averaged.

Seeds of one configuration differ by more than the configurations do (test AJI 0.515–0.565 for
three seeds of one run here), and the 11 validation tiles cannot tell them apart reliably.
Averaging their maps removes part of that variance without any new training; the ensemble is
then tuned (post-processing, inference scale) and selected on the validation tiles like any model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["combine", "member"]

#: What an ensemble keeps of each member's ``best.pt``: the model and where it came from.
_MEMBER_KEYS = ("backbone", "state_dict", "activation", "confidence_sign", "experiment", "epoch", "val_dice")


def combine(states: Sequence[Mapping[str, Any]], *, names: Sequence[str] | None = None) -> dict[str, Any]:
    """One ``scale-ssl`` checkpoint holding the models of `states` (``best.pt`` states).

    The ensemble keeps each member's backbone, weights and activation (so each applies its own
    threshold to its own confidence); the ``scale-ssl`` segmenter averages the members' attention
    maps. The post-processor and inference settings are the first member's until the ensemble is
    tuned on its own (``benchmarks/infer_scale.py``). Every member must agree on stain normalisation.

    Raises
    ------
    ValueError
        Fewer than two states, a state that is itself an ensemble or not a trained model, or
        members that disagree on stain normalisation.

    Examples
    --------
    >>> a = {"backbone": {}, "state_dict": {}, "stain_normalize": True, "post_processor": None}
    >>> sorted(combine([a, dict(a)], names=["s0", "s1"]))
    ['format', 'members', 'post_processor', 'sources', 'stain_normalize']
    """
    if len(states) < 2:
        raise ValueError(f"an ensemble needs at least two models, got {len(states)}")
    names = list(names) if names is not None else [f"member {i}" for i in range(len(states))]
    for name, state in zip(names, states, strict=True):
        if "members" in state:
            raise ValueError(f"{name}: already an ensemble; combine its members instead")
        if "backbone" not in state or "state_dict" not in state:
            raise ValueError(f"{name}: not a trained attention model (no backbone / state_dict)")
    normalise = {bool(s.get("stain_normalize", True)) for s in states}
    if len(normalise) > 1:
        raise ValueError("the members disagree on stain_normalize; an ensemble sees one normalised image")
    members = [{key: state[key] for key in _MEMBER_KEYS if key in state} for state in states]
    first = states[0]
    out: dict[str, Any] = {
        "format": first.get("format", 1),
        "members": members,
        "stain_normalize": normalise.pop(),
        "post_processor": first.get("post_processor"),
        "sources": names,
    }
    if "inference" in first:
        out["inference"] = dict(first["inference"])
    return out


def member(state: Mapping[str, Any], index: int = 0) -> dict[str, Any]:
    """The single-model checkpoint of an ensemble's member `index`, with the ensemble's
    post-processing and inference settings (to time or test one of its F's like for like).

    A checkpoint that is not an ensemble is returned as it is (for `index` 0).

    Examples
    --------
    >>> a = {"backbone": {"name": "x"}, "state_dict": {}, "post_processor": "pp"}
    >>> b = {**a, "backbone": {"name": "y"}}
    >>> member(combine([a, b]), 1)["backbone"], member(combine([a, b]), 1)["post_processor"]
    ({'name': 'y'}, 'pp')
    """
    members = state.get("members", [state])
    if not 0 <= index < len(members):
        raise IndexError(f"member {index}: the checkpoint holds {len(members)} model(s)")
    if "members" not in state:
        return dict(state)
    shared = {key: value for key, value in state.items() if key not in ("members", "sources")}
    return {**members[index], **shared}
