"""Slide access (nucbench.data.slides) on the real SVS slides and on synthetic pyramids."""

from __future__ import annotations

import pickle

import numpy as np
import openslide
import pytest
from PIL import Image

from nucbench.data.slides import Slide, open_slide
from nucbench.errors import InputError

from .conftest import write_pyramid

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


@pytest.fixture
def pyramid(tmp_path):
    """Three levels at 40x / 20x / 10x (mpp 0.25): level 0 has alternating red and black columns,
    level 1 is uniform green, level 2 uniform blue, so the colour read tells which level was used."""
    level0 = np.zeros((256, 384, 3), np.uint8)
    level0[:, ::2] = RED
    level1 = np.broadcast_to(np.array(GREEN, np.uint8), (128, 192, 3)).copy()
    level2 = np.broadcast_to(np.array(BLUE, np.uint8), (64, 96, 3)).copy()
    return write_pyramid(tmp_path / "pyramid.tif", [level0, level1, level2])


def test_pyramid_metadata(pyramid):
    with open_slide(pyramid) as slide:
        assert slide.vendor == "generic-tiff"
        assert slide.level_count == 3 and slide.dimensions == (384, 256)
        assert slide.level_downsamples == (1.0, 2.0, 4.0)
        assert slide.mpp == pytest.approx(0.25) and slide.objective_power is None
        assert slide.magnification == pytest.approx(40)  # 10 / 0.25
        assert slide.level_magnifications == pytest.approx((40, 20, 10))


@pytest.mark.parametrize(
    ("magnification", "level", "scale", "colour"),
    [
        (40, 0, 1.0, None),  # level 0 itself
        (20, 1, 1.0, GREEN),  # exactly level 1
        (10, 2, 1.0, BLUE),  # exactly level 2
        (40 / 3, 1, 1.5, GREEN),  # downsample 3: level 1 (2 ≤ 3) resized by 1.5
        (5, 2, 2.0, BLUE),  # downsample 8: level 2 resized by 2
        (30, 0, 4 / 3, None),  # downsample 4/3: level 0 resized
    ],
)
def test_level_choice(pyramid, magnification, level, scale, colour):
    with open_slide(pyramid) as slide:
        chosen, remaining = slide.best_level(magnification)
        assert chosen == level and remaining == pytest.approx(scale)
        region = slide.read_region(0, 0, 24, 16, magnification=magnification)
        assert region.shape == (16, 24, 3) and region.dtype == np.uint8
        if colour is not None:
            assert (region == colour).all()


def test_level0_exact_and_resize_antialiased(pyramid):
    with open_slide(pyramid) as slide:
        exact = slide.read_region(10, 20, 8, 4)
        assert exact[0].tolist() == [list(RED if c % 2 == 0 else (0, 0, 0)) for c in range(10, 18)]
        # At 30x the 1-px red/black columns (mean red 127.5) are below the new Nyquist limit:
        # an anti-aliased resize gives a near-uniform dark red, nearest-neighbour would keep 0/255.
        resized = slide.read_region(64, 64, 48, 48, magnification=30)
        red = resized[4:-4, 4:-4, 0].astype(float)
        assert abs(red.mean() - 127.5) < 10 and red.std() < 20
        assert resized[..., 1:].max() == 0


def test_region_outside_slide(pyramid):
    with open_slide(pyramid) as slide:
        # 100×100 at 20x covers 200×200 level-0 pixels: from x=200 it ends at 400 > 384
        message = r"pyramid\.tif: region x=200, y=0, 100×100 at 20x .* outside the slide"
        with pytest.raises(InputError, match=message):
            slide.read_region(200, 0, 100, 100, magnification=20)
        with pytest.raises(InputError, match="outside the slide"):
            slide.read_region(-1, 0, 4, 4)
        padded = slide.read_region(380, 0, 8, 4, pad=True)  # 4 columns inside, 4 white outside
        assert (padded[:, 4:] == 255).all() and padded[0, 0].tolist() == list(RED)
        with pytest.raises(InputError, match="entirely outside"):
            slide.read_region(1000, 0, 8, 4, pad=True)


def test_no_upsampling(pyramid):
    with open_slide(pyramid) as slide, pytest.raises(InputError, match="highest magnification is 40x"):
        slide.read_region(0, 0, 8, 8, magnification=80)


def test_pyramid_without_mpp_needs_override(tmp_path):
    levels = [np.full((128, 128, 3), 200, np.uint8), np.full((64, 64, 3), 100, np.uint8)]
    path = write_pyramid(tmp_path / "nompp.tif", levels, mpp=None)
    slide = Slide(path)
    assert not slide.has_resolution
    assert slide.read_region(0, 0, 4, 4).shape == (4, 4, 3)  # level 0 needs no resolution
    with pytest.raises(InputError, match=r"nompp\.tif: .*no mpp .*--mpp"):
        slide.read_region(0, 0, 4, 4, magnification=20)
    assert Slide(path, mpp=0.5).best_level(10) == (1, 1.0)  # 20x slide: 10x is level 1


def test_cmu_svs_matches_direct_openslide_read(wsi_root):
    """Acceptance: a 160×160 region at 20x from an SVS slide equals OpenSlide's own read."""
    path = wsi_root / "CMU-1-Small-Region.svs"
    with Slide(path) as slide:
        assert slide.objective_power == 20 and slide.mpp == pytest.approx(0.499)
        assert slide.magnification == 20  # the objective power, not 10 / 0.499
        region = slide.read_region(1000, 1200, 160, 160, magnification=20)
    direct = openslide.OpenSlide(str(path))
    expected = np.asarray(direct.read_region((1000, 1200), 0, (160, 160)).convert("RGB"))
    np.testing.assert_array_equal(region, expected)
    # at 10x: 320×320 level-0 pixels resized to 160×160 with Lanczos
    with Slide(path) as slide:
        low = slide.read_region(1000, 1200, 160, 160, magnification=10)
    big = direct.read_region((1000, 1200), 0, (320, 320)).convert("RGB")
    np.testing.assert_array_equal(low, np.asarray(big.resize((160, 160), Image.Resampling.LANCZOS)))
    direct.close()


def test_tcga_svs_without_mpp(wsi_root):
    path = wsi_root / "TCGA-CR-7395-01A-01-TS1.svs"
    slide = Slide(path)
    assert slide.metadata_mpp is None and slide.objective_power is None
    with pytest.raises(InputError, match=r"TCGA-CR-7395-01A-01-TS1\.svs: .*--mpp"):
        slide.read_region(0, 0, 160, 160, magnification=20)
    with pytest.raises(InputError, match="--mpp"):
        _ = slide.magnification
    slide = Slide(path, mpp=0.25)  # declared 40x: level 1 (downsample 2.0005) is 20x
    assert slide.best_level(20) == (1, 1.0)
    region = slide.read_region(2000, 1600, 160, 160, magnification=20)
    direct = np.asarray(slide._slide.read_region((2000, 1600), 1, (160, 160)).convert("RGB"))
    np.testing.assert_array_equal(region, direct)
    assert 60 < region.mean() < 250
    assert pickle.loads(pickle.dumps(slide)).best_level(20) == (1, 1.0)


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(InputError, match=r"gone\.svs: no such file"):
        Slide(tmp_path / "gone.svs")
    text = tmp_path / "notes.svs"
    text.write_text("not a slide")
    with pytest.raises(InputError, match=r"notes\.svs: unsupported slide format"):
        Slide(text)
    with pytest.raises(InputError, match="mpp must be a positive"):
        Slide(text, mpp=-1)
