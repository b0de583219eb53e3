"""Label-free orientation of the untrained F (``polarity: hematoxylin``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nucbench_scale_ssl.polarity import hematoxylin_probe, orient_to_hematoxylin, probe_contrast
from torch import nn


class _Darkness(nn.Module):
    """A pointwise F whose confidence is ``sign`` × the pixel's darkness (1 − mean RGB)."""

    def __init__(self, sign: float) -> None:
        super().__init__()
        self.head = nn.Conv2d(1, 1, 1)
        with torch.no_grad():
            self.head.weight.fill_(sign)
            self.head.bias.fill_(0.25 * sign)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(1 - x.mean(dim=1, keepdim=True))


def test_probe_discs_are_purple_on_pink_ground():
    images, masks = hematoxylin_probe(size=64, count=2, seed=3)
    assert images.shape == (2, 64, 64, 3) and masks.shape == (2, 64, 64) and images.dtype == np.float32
    assert 0.05 < masks.mean() < 0.6
    nucleus, ground = images[masks].mean(axis=0), images[~masks].mean(axis=0)
    assert nucleus.sum() < ground.sum() - 0.5  # discs much darker than the ground
    assert ground[0] > ground[1] and nucleus[2] > nucleus[1]  # pink ground (R > G), purple discs (B > G)


def test_probe_draws_no_global_random_numbers():
    f = _Darkness(1.0)
    torch.manual_seed(7)
    np.random.seed(7)
    hematoxylin_probe()
    probe_contrast(f)
    after = (float(torch.rand(1)), float(np.random.rand()))
    torch.manual_seed(7)
    np.random.seed(7)
    assert after == (float(torch.rand(1)), float(np.random.rand()))


def test_an_f_pointing_away_from_nuclei_is_negated_and_then_points_at_them():
    away = _Darkness(-1.0)
    assert probe_contrast(away) < -1.0
    x = torch.rand(1, 3, 8, 8)
    before = away(x).detach()
    assert orient_to_hematoxylin(away, away.head) is True
    assert probe_contrast(away) > 1.0
    assert torch.equal(away(x).detach(), -before)  # exactly the sign, nothing else


def test_an_f_pointing_at_nuclei_is_left_alone():
    towards = _Darkness(1.0)
    state = {k: v.clone() for k, v in towards.state_dict().items()}
    assert orient_to_hematoxylin(towards, towards.head) is False
    assert all(torch.equal(v, towards.state_dict()[k]) for k, v in state.items())


@pytest.mark.parametrize("name", ["dilated-resnet", "dilated-lite"])
def test_oriented_backbones_point_at_the_probes_nuclei_for_every_seed(full_manager, name):
    plain, oriented = [], []
    for seed in range(6):
        for polarity, out in ((None, plain), ("hematoxylin", oriented)):
            torch.manual_seed(seed)
            f = full_manager.create("attention-backbone", name, width=8, dilations=[1, 2], polarity=polarity)
            out.append(probe_contrast(f))
    assert min(plain) < 0  # some seeds start pointing away ...
    assert min(oriented) >= 0  # ... none does once oriented,
    assert np.allclose(np.abs(oriented), np.abs(plain), atol=1e-5)  # by a sign flip of the same F


def test_orientation_keeps_the_training_flag_and_the_random_stream(full_manager):
    draws = []
    for polarity in (None, "hematoxylin"):
        torch.manual_seed(1)
        f = full_manager.create(
            "attention-backbone", "dilated-resnet", width=4, dilations=[1], polarity=polarity
        )
        assert f.training
        draws.append(float(torch.rand(1)))
    assert draws[0] == draws[1]


def test_unknown_polarity_names_the_value_and_suggests(full_manager):
    with pytest.raises(ValueError, match=r"'hematoxilin'.*Did you mean 'hematoxylin'"):
        full_manager.create(
            "attention-backbone", "dilated-resnet", width=4, dilations=[1], polarity="hematoxilin"
        )
