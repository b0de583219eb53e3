"""Reinhard normalisation and HED jitter (nucbench.data.stain)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from skimage.color import rgb2hed

from nucbench.data.io import read_image
from nucbench.data.stain import (
    REINHARD_TARGET_MEAN,
    ReinhardColourMap,
    hed_jitter,
    hed_to_rgb,
    lab_statistics,
    reinhard_normalise,
    rgb_to_hed,
)
from nucbench.data.tissue import tissue_mask
from nucbench.errors import InputError


def tissue_image(seed=0, size=48):
    """Synthetic H&E-like pixels (pinks and purples) with a white band of glass."""
    rng = np.random.default_rng(seed)
    image = np.empty((size, size, 3), np.uint8)
    image[..., 0] = rng.integers(120, 220, (size, size))
    image[..., 1] = rng.integers(40, 100, (size, size))
    image[..., 2] = rng.integers(120, 200, (size, size))
    image[:8] = 250  # glass
    return image


def test_reinhard_matches_target_statistics():
    image = tissue_image()
    mask = tissue_mask(image)
    assert not mask[:8].any() and mask[8:].all()
    # a target inside the sRGB gamut for these pixels, so that only uint8 rounding intervenes
    target_mean, target_std = (55.0, 25.0, -15.0), (10.0, 6.0, 5.0)
    out = reinhard_normalise(image, target_mean, target_std)
    mean, std = lab_statistics(out, mask)
    np.testing.assert_allclose(mean, target_mean, atol=0.5)
    np.testing.assert_allclose(std, target_std, atol=0.5)
    assert (out[:8] == 250).all()  # glass left as it is


def test_reinhard_identity_when_target_is_own_statistics():
    image = tissue_image(1)
    mean, std = lab_statistics(image)
    out = reinhard_normalise(image, tuple(mean), tuple(std))
    assert np.abs(out.astype(int) - image).max() <= 1


def test_reinhard_converts_each_colour_as_a_per_pixel_conversion_would(monuseg_root):
    """The palette shortcut (each distinct colour converted once) against the plain formula."""
    from skimage.color import lab2rgb, rgb2lab

    image = read_image(monuseg_root / "test/images/TCGA-2Z-A9J9-01A-01-TS1.tif")[:300, :300]
    mask = tissue_mask(image)
    lab = rgb2lab(image.astype(np.float32) / 255.0)
    values = lab[mask].astype(np.float64)
    mean, std = values.mean(axis=0), values.std(axis=0)
    np.testing.assert_allclose(lab_statistics(image), (mean, std), rtol=1e-9)
    target_mean, target_std = np.asarray(REINHARD_TARGET_MEAN), np.array([18.59, 11.81, 9.88])
    out = ((lab - mean) * (target_std / std) + target_mean).astype(np.float32)
    out[..., 0] = np.clip(out[..., 0], 0.0, 100.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # lab2rgb clipping out-of-gamut pixels
        expected = np.rint(np.clip(lab2rgb(out), 0.0, 1.0) * 255.0).astype(np.uint8)
        result = reinhard_normalise(image)
    expected[~mask] = image[~mask]
    assert np.array_equal(result, expected)


def test_colour_map_equals_reinhard_with_fixed_statistics(monuseg_root):
    tile = read_image(monuseg_root / "test/images/TCGA-2Z-A9J9-01A-01-TS1.tif")
    statistics = lab_statistics(tile[:400, :400])  # a "slide" statistic, used for other crops
    colour_map = ReinhardColourMap(statistics, (55.0, 35.0, -12.0), (15.0, 10.0, 8.0))
    glass = tissue_image(3)
    glass[:] = 250
    glass[0, 0] = (200, 80, 160)  # 1 tissue pixel of 2304 (< 1 %): every pixel is transformed
    crops = [tile[500:660, 500:660], tile[600:760, 520:680], tissue_image(4), glass]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # lab2rgb clipping out-of-gamut pixels
        expected = [reinhard_normalise(c, (55.0, 35.0, -12.0), (15.0, 10.0, 8.0), statistics=statistics)
                    for c in crops]
    for _ in range(2):  # first filling the table, then from it alone
        for crop, want in zip(crops, expected, strict=True):
            assert np.array_equal(colour_map(crop), want)
    assert colour_map.colours == len(np.unique(np.concatenate([c.reshape(-1, 3) for c in crops]), axis=0))
    assert (expected[3][1:, 1:] != 250).any()  # the glass crop was transformed, as reinhard does
    assert (colour_map(tissue_image(4))[:8] == 250).all()  # glass of a tissue crop kept


def test_reinhard_transforms_background_when_asked():
    image = tissue_image(2)
    assert (reinhard_normalise(image, keep_background=False)[:8] != 250).any()


def test_reinhard_real_tile_moves_towards_target(monuseg_root):
    image = read_image(monuseg_root / "test/images/TCGA-2Z-A9J9-01A-01-TS1.tif")[:256, :256]
    before, _ = lab_statistics(image)
    after, _ = lab_statistics(reinhard_normalise(image), tissue_mask(image))
    target = np.array(REINHARD_TARGET_MEAN)
    assert np.abs(after - target).max() < 3 < np.abs(before - target).max()


def test_reinhard_bad_input():
    with pytest.raises(InputError, match="expected H×W×3 uint8"):
        reinhard_normalise(np.zeros((4, 4)))
    with pytest.raises(InputError, match="must have the shape of `image`"):
        reinhard_normalise(tissue_image(), mask=np.ones((3, 3), bool))


def test_hed_matches_skimage_where_nonnegative():
    image = tissue_image(3)
    ours = rgb_to_hed(image)
    theirs = rgb2hed(image)
    # skimage clips negative concentrations to 0; elsewhere the two agree
    np.testing.assert_allclose(np.maximum(ours, 0), theirs, atol=1e-4)
    assert np.abs(hed_to_rgb(ours).astype(int) - image).max() <= 1


def test_hed_jitter_seeded_and_bounded():
    image = tissue_image(4)
    a = hed_jitter(image, np.random.default_rng(5))
    b = hed_jitter(image, np.random.default_rng(5))
    c = hed_jitter(image, np.random.default_rng(6))
    assert a.dtype == np.uint8 and a.shape == image.shape
    assert (a == b).all() and (a != c).any()
    assert np.abs(hed_jitter(image, 0, scale=0, shift=0).astype(int) - image).max() <= 1
    assert 0 < np.abs(a.astype(int) - image).mean() < 20


def test_hed_jitter_batch_draws_per_image():
    image = tissue_image(5)
    batch = np.stack([image, image])
    out = hed_jitter(batch, 1)
    assert out.shape == batch.shape and (out[0] != out[1]).any()
    with pytest.raises(InputError, match="scale and shift"):
        hed_jitter(image, 0, scale=-1)
