"""The multi-scale crop sampler: balanced, deterministic, resumable, both modes."""

from __future__ import annotations

import numpy as np
import pytest

from nucbench.data.sampling import MultiScaleCropSampler, dihedral


def _tiles(n=2, size=96):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8) for _ in range(n)]


@pytest.mark.parametrize("mode", ["pyramid", "shared-resample"])
def test_batches_are_balanced_over_the_classes(mode):
    sampler = MultiScaleCropSampler(_tiles(), crop_size=16, batch_size=9, mode=mode, seed=1)
    crops, targets = sampler.sample()
    assert crops.shape == (9, 16, 16, 3) and crops.dtype == np.uint8
    assert np.bincount(targets).tolist() == [3, 3, 3]  # 9 crops / 3 classes


def test_same_seed_same_batches_and_state_dict_resumes_exactly():
    a = MultiScaleCropSampler(_tiles(), crop_size=16, batch_size=6, seed=7)
    b = MultiScaleCropSampler(_tiles(), crop_size=16, batch_size=6, seed=7)
    assert np.array_equal(a.sample()[0], b.sample()[0])
    state = a.state_dict()
    expected = a.sample()[0]
    c = MultiScaleCropSampler(_tiles(), crop_size=16, batch_size=6, seed=99)
    c.load_state_dict(state)
    assert np.array_equal(c.sample()[0], expected)


@pytest.mark.parametrize("mode", ["pyramid", "shared-resample"])
def test_batches_do_not_depend_on_the_number_of_threads(mode):
    one = MultiScaleCropSampler(_tiles(), crop_size=16, batch_size=12, mode=mode, seed=3, workers=1)
    three = MultiScaleCropSampler(_tiles(), crop_size=16, batch_size=12, mode=mode, seed=3, workers=3)
    for _ in range(3):
        (x1, y1), (x3, y3) = one.sample(), three.sample()
        assert np.array_equal(x1, x3) and np.array_equal(y1, y3)
    assert three.workers == 3 and (three._pool is not None) == (mode == "shared-resample")
    three.close()
    assert three._pool is None and np.array_equal(three.sample()[0], one.sample()[0])
    with pytest.raises(ValueError, match="workers"):
        MultiScaleCropSampler(_tiles(), crop_size=16, batch_size=3, workers=0)


def test_pyramid_level_is_the_antialiased_downsampled_tile():
    # a constant tile stays constant through any anti-aliased resize: every crop is 100
    tiles = [np.full((96, 96, 3), 100, np.uint8)]
    crops, _ = MultiScaleCropSampler(tiles, crop_size=16, batch_size=3, mode="pyramid").sample()
    assert np.all(crops == 100)


def test_shared_resample_resamples_every_class():
    # with jitter 1 and no augmentation a 40x crop is a 16-px box resized to 16 px: on a tile with
    # a one-pixel checkerboard, a sub-pixel box offset blurs it, so 40x crops are not raw pixels
    yy, xx = np.indices((96, 96))
    board = ((yy + xx) % 2 * 255).astype(np.uint8)
    tile = np.repeat(board[..., None], 3, axis=2)
    sampler = MultiScaleCropSampler([tile], crop_size=16, batch_size=3, jitter=1.0, augment=False, seed=0)
    crops, targets = sampler.sample()
    crop40 = crops[targets == 2][0]
    assert not set(np.unique(crop40)) <= {0, 255}


def test_too_small_image_is_reported():
    with pytest.raises(ValueError, match="too small"):
        MultiScaleCropSampler([np.zeros((50, 50, 3), np.uint8)], crop_size=16, batch_size=3)


def test_batch_size_must_split_over_classes():
    with pytest.raises(ValueError, match="multiple"):
        MultiScaleCropSampler(_tiles(), crop_size=16, batch_size=7)


def test_dihedral_transforms_are_the_eight_distinct_symmetries():
    a = np.arange(9).reshape(3, 3)
    outs = {tuple(dihedral(a, i).ravel()) for i in range(8)}
    assert len(outs) == 8
