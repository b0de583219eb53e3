"""Ensembles of trained attention networks: combining checkpoints and averaging their maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nucbench_scale_ssl.ensemble import combine, member

import nucbench
from nucbench.train import atomic_save


def _image() -> np.ndarray:
    rng = np.random.default_rng(0)
    image = np.full((96, 96, 3), 225, np.uint8)
    for r, c in rng.integers(8, 88, size=(12, 2)):
        yy, xx = np.ogrid[:96, :96]
        image[(yy - r) ** 2 + (xx - c) ** 2 < 25] = (90, 50, 140)  # purple nuclei on pink-white
    return image


def test_ensemble_attention_is_the_mean_of_its_members_maps(tmp_path, shipped_member):
    first = shipped_member()
    second = shipped_member()
    weights = second["state_dict"]
    second["state_dict"] = {k: v * 0.9 if v.is_floating_point() else v for k, v in weights.items()}
    paths = [atomic_save(s, tmp_path / f"m{i}.pt") for i, s in enumerate((first, second))]
    ensemble = atomic_save(combine([first, second], names=[str(p) for p in paths]), tmp_path / "ens.pt")

    maps = [nucbench.create("segmenter", "scale-ssl", checkpoint=str(p), scale=1.0).attention(_image())
            for p in paths]
    assert np.abs(maps[0] - maps[1]).max() > 0.01  # the members differ
    averaged = nucbench.create("segmenter", "scale-ssl", checkpoint=str(ensemble), scale=1.0)
    assert len(averaged.members) == 2
    assert np.allclose(averaged.attention(_image()), (maps[0] + maps[1]) / 2, atol=1e-5)
    # resized once for all members at scale < 1, the same as each member resizing for itself
    half = [nucbench.create("segmenter", "scale-ssl", checkpoint=str(p), scale=0.5).attention(_image())
            for p in paths]
    ens_half = nucbench.create("segmenter", "scale-ssl", checkpoint=str(ensemble), scale=0.5)
    assert np.allclose(ens_half.attention(_image()), (half[0] + half[1]) / 2, atol=1e-5)
    assert ens_half.segment(_image()).shape == (96, 96)


def test_combine_rejects_what_cannot_be_an_ensemble(shipped_member):
    state = shipped_member()
    with pytest.raises(ValueError, match="at least two"):
        combine([state])
    with pytest.raises(ValueError, match="already an ensemble"):
        combine([combine([state, state]), state])
    with pytest.raises(ValueError, match="not a trained attention model"):
        combine([state, {"post_processor": None}])
    with pytest.raises(ValueError, match="stain_normalize"):
        combine([state, {**state, "stain_normalize": not state.get("stain_normalize", True)}])


def test_member_takes_one_model_out_of_an_ensemble_with_the_ensembles_settings(shipped_member):
    state = shipped_member()
    other = {**state, "state_dict": {k: v + 1 if v.is_floating_point() else v
                                     for k, v in state["state_dict"].items()}}
    ensemble = {**combine([state, other]), "post_processor": {"name": "watershed", "params": {"sigma": 9.0}}}
    second = member(ensemble, 1)
    assert "members" not in second and "sources" not in second
    key = next(k for k, v in state["state_dict"].items() if v.is_floating_point())
    assert torch.equal(second["state_dict"][key], other["state_dict"][key])
    assert second["post_processor"]["params"] == {"sigma": 9.0}
    with pytest.raises(IndexError, match="member 2: the checkpoint holds 2"):
        member(ensemble, 2)
    assert member(state) == state


def test_segmenter_takes_tta_from_the_checkpoint_unless_given(tmp_path, shipped_member):
    state = {**shipped_member(), "inference": {"scale": 1.0, "tta": True}}
    path = atomic_save(state, tmp_path / "tta.pt")
    assert nucbench.create("segmenter", "scale-ssl", checkpoint=str(path)).tta is True
    assert nucbench.create("segmenter", "scale-ssl", checkpoint=str(path), tta=False).tta is False
    assert nucbench.create("segmenter", "scale-ssl").tta is False  # the shipped model: no TTA


def test_each_member_applies_its_own_confidence_sign(tmp_path, shipped_member):
    """An F with its last layer negated and ``confidence_sign: -1`` attends what the original does,
    alone and as an ensemble member (`combine` keeps each member's sign)."""
    state = shipped_member()
    negated = {k: -v if k.startswith("head.") else v for k, v in state["state_dict"].items()}
    inverted = {**state, "state_dict": negated, "confidence_sign": -1}
    unsigned = {**state, "state_dict": negated}
    paths = [atomic_save(s, tmp_path / f"{i}.pt") for i, s in enumerate((state, inverted, unsigned))]
    ensemble = atomic_save(combine([inverted, unsigned]), tmp_path / "ens.pt")
    maps = [nucbench.create("segmenter", "scale-ssl", checkpoint=str(p), scale=1.0).attention(_image())
            for p in (*paths, ensemble)]
    assert np.allclose(maps[1], maps[0], atol=1e-6)
    assert np.abs(maps[2] - maps[0]).max() > 0.1  # without the sign it is the inverted map
    assert np.allclose(maps[3], (maps[1] + maps[2]) / 2, atol=1e-5)
