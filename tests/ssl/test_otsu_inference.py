"""Sparsity's Otsu τ at inference: each image's own two-class split of its confidence."""

import torch


def test_sparsity_otsu_inference_splits_each_image_at_its_own_otsu_threshold(full_manager):
    s = full_manager.create("regularizer", "sparsity", eta=93, inference="otsu").eval()
    # image 0: 70 pixels at 0, 30 at 4 → Otsu lies between the modes, 30 pixels attended
    #          (η = 93 would attend only 7);
    # image 1: the same shifted by 100 → the same 30 pixels; one shared τ could not do both.
    first = torch.cat([torch.zeros(70), torch.full((30,), 4.0)])
    a = torch.stack([first, first + 100]).view(2, 1, 10, 10)
    attended = s.activate(a) > 0.5
    assert attended.sum(dim=(1, 2, 3)).tolist() == [30, 30]
    assert torch.equal(attended[0], attended[1])


def test_sparsity_training_is_the_same_whatever_the_inference_mode(full_manager):
    a = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    outputs = []
    for mode in ("ema", "image", "otsu"):
        s = full_manager.create("regularizer", "sparsity", inference=mode).train()
        outputs.append(s.activate(a, update_stats=True))
    assert torch.equal(outputs[0], outputs[1]) and torch.equal(outputs[0], outputs[2])
