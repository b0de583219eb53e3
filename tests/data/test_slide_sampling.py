"""Multi-scale crops from whole slides (SlideCropSource, the 'slides' dataset, nucbench train on slides)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import openslide
import pytest
import yaml

from nucbench.cli import main
from nucbench.data.sampling import MultiScaleCropSampler, SlideCropSource
from nucbench.data.stain import reinhard_normalise
from nucbench.data.tissue import tissue_fraction
from nucbench.errors import ConfigError, InputError
from nucbench.plugins import reset_plugin_manager

from .conftest import write_pyramid

PINK, PURPLE = (230, 150, 200), (90, 40, 140)  # level 0: 1-px columns of these
ORANGE, TEAL = (210, 110, 60), (60, 150, 170)  # level 1: a 1-px checkerboard of these
NAVY = (40, 40, 200)  # level 2: uniform
GLASS = (250, 250, 250)  # HSV value 0.98 > 0.94: not tissue


def _levels(tissue: np.ndarray) -> list[np.ndarray]:
    """A 40x pyramid (downsamples 1, 4, 16) whose colours tell which level a pixel came from;
    `tissue` is a bool mask at level 0 (multiples of 16 pixels), glass elsewhere."""
    size = tissue.shape[0]
    out = []
    for down, colours in ((1, (PINK, PURPLE)), (4, (ORANGE, TEAL)), (16, (NAVY, NAVY))):
        yy, xx = np.indices((size // down, size // down))
        odd = (xx % 2 == 1) if down == 1 else ((yy + xx) % 2 == 1)
        level = np.where(odd[..., None], np.array(colours[1], np.uint8), np.array(colours[0], np.uint8))
        level[~tissue[::down, ::down]] = GLASS
        out.append(level.astype(np.uint8))
    return out


@pytest.fixture(scope="module")
def half_slide(tmp_path_factory):
    """512×512 at 40x (mpp 0.25), levels at 40x, 10x and 2.5x; tissue on the left half."""
    tissue = np.zeros((512, 512), bool)
    tissue[:, :256] = True
    return write_pyramid(tmp_path_factory.mktemp("slides") / "half.tif", _levels(tissue))


@pytest.fixture(scope="module")
def corner_slide(tmp_path_factory):
    """512×512 at 40x; tissue only in the top-left 192×192 square (14 % of the slide)."""
    tissue = np.zeros((512, 512), bool)
    tissue[:192, :192] = True
    return write_pyramid(tmp_path_factory.mktemp("slides") / "corner.tif", _levels(tissue))


def _sampler(source, seed=0, **kwargs):
    kwargs = {"crop_size": 16, "batch_size": 6, "mode": "pyramid", **kwargs}
    return MultiScaleCropSampler([source], seed=seed, **kwargs)


def _colours(crop: np.ndarray) -> set[tuple[int, ...]]:
    return {tuple(int(v) for v in c) for c in np.unique(crop.reshape(-1, 3), axis=0)}


def test_level_choice_on_a_synthetic_pyramid(half_slide):
    source = SlideCropSource(half_slide, min_tissue=1.0)
    # 40x slide, downsamples 1, 4, 16: 10x needs 4 → level 1 as it is; 20x needs 2 → level 0, then
    # a remaining downsample of 2 (resize ×0.5); 40x → level 0 as it is
    assert source.level_for(10) == (1, 1.0)
    assert source.level_for(20) == (0, 2.0)
    assert source.level_for(40) == (0, 1.0)
    crops, targets = _sampler(source, batch_size=12).sample()
    for crop, cls in zip(crops, targets, strict=True):
        if cls == 0:  # 10x: level-1 pixels, unresampled: exactly the orange/teal checkerboard
            yy, xx = np.indices((16, 16))
            odd = (yy + xx) % 2 == 1
            assert (crop[odd] == crop[odd][0]).all() and (crop[~odd] == crop[~odd][0]).all()
            assert _colours(crop) == {ORANGE, TEAL}
        elif cls == 1:  # 20x: level 0 halved with an anti-aliased filter: stripes blend to the mean
            inner = crop[3:-3, 3:-3].astype(float)
            assert abs(inner[..., 0].mean() - (230 + 90) / 2) < 10 and inner[..., 0].std() < 15
            assert not _colours(crop) & {PINK, PURPLE, ORANGE, TEAL, NAVY}
        else:  # 40x: level 0 as it is: pink/purple columns
            assert _colours(crop) == {PINK, PURPLE}


def test_batches_are_balanced_and_deterministic(half_slide):
    source = SlideCropSource(half_slide)
    for mode in ("pyramid", "shared-resample"):
        a = _sampler(source, seed=5, mode=mode, batch_size=9)
        b = _sampler(source, seed=5, mode=mode, batch_size=9)
        c = _sampler(source, seed=6, mode=mode, batch_size=9)
        for _ in range(2):
            (xa, ya), (xb, yb), (xc, _) = a.sample(), b.sample(), c.sample()
            assert np.bincount(ya).tolist() == [3, 3, 3]  # 9 crops over 3 classes
            assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
            assert not np.array_equal(xa, xc)


def test_state_dict_resumes_the_same_stream(half_slide):
    source = SlideCropSource(half_slide)
    a = _sampler(source, seed=1, mode="shared-resample")
    a.sample()
    state = a.state_dict()
    expected = [a.sample()[0] for _ in range(2)]
    b = _sampler(source, seed=99, mode="shared-resample")
    b.load_state_dict(state)
    assert all(np.array_equal(b.sample()[0], e) for e in expected)


def test_crops_come_from_tissue_not_glass(corner_slide):
    source = SlideCropSource(corner_slide, min_tissue=0.7)
    assert source.mask.mean() == pytest.approx(192 * 192 / 512**2)  # mask at level 0 (thumbnail ≤ 1024)
    sampler = _sampler(source, seed=2, mode="shared-resample", augment=False, batch_size=30)
    crops, _ = sampler.sample()
    # a uniform position would hit glass 86 % of the time; every crop here is mostly tissue
    assert min(tissue_fraction(c) for c in crops) >= 0.6


def test_no_tissue_room_and_upsampling_are_errors(corner_slide, half_slide):
    # a 10x crop of 64 px covers 256 level-0 px: more than the 192-px tissue square
    with pytest.raises(InputError, match=r"corner\.tif: no square of 256 level-0 pixels .* 10x"):
        _sampler(SlideCropSource(corner_slide), crop_size=64)
    with pytest.raises(InputError, match=r"half\.tif: level 0 is 40x, below the 80x"):
        _sampler(SlideCropSource(half_slide), magnifications=(20, 40, 80))
    with pytest.raises(InputError, match="min_tissue"):
        SlideCropSource(half_slide, min_tissue=1.5)


def test_slide_without_resolution_needs_mpp(tmp_path):
    tissue = np.ones((64, 64), bool)
    path = write_pyramid(tmp_path / "nompp.tif", _levels(tissue)[:1], mpp=None)
    with pytest.raises(InputError, match=r"nompp\.tif: .*no mpp.* give its level-0 resolution as mpp"):
        SlideCropSource(path)
    assert SlideCropSource(path, mpp=0.5).slide.magnification == pytest.approx(20)  # 10 / 0.5


def test_real_svs_crops_are_the_true_pyramid_level(wsi_root):
    """TCGA-CR-7395 (levels at downsample 1 and 2.0005, no resolution metadata; taken as 40x):
    each 20x crop is level 1's own pixels, as a direct OpenSlide read gives them."""
    path = wsi_root / "TCGA-CR-7395-01A-01-TS1.svs"
    source = SlideCropSource(path, mpp=0.25, preload_mb=0)  # every crop read with OpenSlide
    assert source.level_for(20) == (1, 1.0)  # 2.0005 is within 1 % of 2
    level, remaining = source.level_for(10)  # 10x needs downsample 4: level 1, then 4 / 2.0005
    assert level == 1 and remaining == pytest.approx(4 / 2.0005, rel=1e-5)
    reads = []
    read_region = source.slide.read_region

    def spy(x, y, w, h, magnification=None, **kw):
        reads.append((x, y, magnification))
        return read_region(x, y, w, h, magnification, **kw)

    source.slide.read_region = spy
    # one thread, so that the spy records the reads in the order of the crops
    crops, targets = _sampler(source, crop_size=64, batch_size=6, seed=3, workers=1).sample()
    assert np.bincount(targets).tolist() == [2, 2, 2]
    assert min(tissue_fraction(c) for c in crops) > 0.5
    with openslide.OpenSlide(str(path)) as direct:
        for crop, cls, (x, y, magnification) in zip(crops, targets, reads, strict=True):
            assert magnification == (10, 20, 40)[cls]
            if cls == 1:
                raw = np.asarray(direct.read_region((x, y), 1, (64, 64)).convert("RGB"))
                assert np.array_equal(crop, raw)


def test_real_svs_levels_held_in_memory_give_the_levels_own_pixels(wsi_root):
    path = wsi_root / "TCGA-CR-7395-01A-01-TS1.svs"
    source = SlideCropSource(path, mpp=0.25)  # 59 MB of RGB levels: within the default budget
    crops, targets = _sampler(source, crop_size=64, batch_size=6, seed=3, workers=1).sample()
    assert source.preloaded_levels == (0, 1)
    with openslide.OpenSlide(str(path)) as direct:
        level1 = np.asarray(direct.read_region((0, 0), 1, direct.level_dimensions[1]).convert("RGB"))
    windows = np.lib.stride_tricks.sliding_window_view(level1, (64, 64, 3))[..., 0, :, :, :]
    for crop, cls in zip(crops, targets, strict=True):
        if cls == 1:  # 20x: a 64×64 window of level 1 as OpenSlide reads the whole level
            hits = np.argwhere((windows[:, :, 0, 0] == crop[0, 0]).all(-1))
            assert any(np.array_equal(windows[r, c], crop) for r, c in hits)
    small = SlideCropSource(path, mpp=0.25, preload_mb=10)  # level 0 alone is 45 MB: read per crop
    _sampler(small, crop_size=64)
    assert small.preloaded_levels == ()
    with pytest.raises(InputError, match="preload_mb"):
        SlideCropSource(path, mpp=0.25, preload_mb=-1)


def test_levels_in_memory_or_read_per_crop_give_the_same_batches(half_slide):
    # integer downsamples: OpenSlide reads level pixels as they are, so both paths are exact
    for mode in ("pyramid", "shared-resample"):
        held = _sampler(SlideCropSource(half_slide), seed=4, mode=mode, batch_size=12)
        read = _sampler(SlideCropSource(half_slide, preload_mb=0), seed=4, mode=mode, batch_size=12)
        assert held._sources[0].preloaded_levels and not read._sources[0].preloaded_levels
        for _ in range(2):
            assert np.array_equal(held.sample()[0], read.sample()[0])


def test_real_svs_stain_normalised_crops_are_reinhard_with_the_slide_statistics(wsi_root):
    path = wsi_root / "TCGA-CR-7395-01A-01-TS1.svs"
    raw, normalised = SlideCropSource(path, mpp=0.25), SlideCropSource(path, mpp=0.25, stain_normalize=True)
    assert raw.statistics is None and normalised.statistics is not None
    for magnification in (10, 20, 40):
        rngs = np.random.default_rng(11), np.random.default_rng(11)  # the same position for both
        plain = raw.crop(rngs[0], magnification, 64, jitter=1.4, scale=1.2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # lab2rgb clipping out-of-gamut pixels
            expected = reinhard_normalise(plain, statistics=normalised.statistics)
        assert np.array_equal(normalised.crop(rngs[1], magnification, 64, jitter=1.4, scale=1.2), expected)
        assert not np.array_equal(expected, plain)


def test_real_20x_svs_cannot_give_40x_crops(wsi_root):
    source = SlideCropSource(wsi_root / "CMU-1-Small-Region.svs")  # 20x, 0.499 µm/px in its metadata
    with pytest.raises(InputError, match=r"CMU-1-Small-Region\.svs: level 0 is 20x, below the 40x"):
        _sampler(source)
    crops, _ = _sampler(source, magnifications=(5, 10, 20)).sample()
    assert crops.shape == (6, 16, 16, 3)


def test_slides_dataset_resolves_paths_and_is_not_an_image_dataset(full_manager, half_slide):
    dataset = full_manager.create("dataset", "slides", slides=[half_slide.name], root=str(half_slide.parent))
    assert len(dataset) == 1 and dataset.paths == [half_slide]
    with pytest.raises(InputError, match="read as training crops"):
        dataset[0]
    (source,) = dataset.crop_sources()
    assert source.statistics is None and source.slide.magnification == pytest.approx(40)
    with pytest.raises(InputError, match=r"missing\.svs: dataset 'slides': no such slide file"):
        full_manager.create("dataset", "slides", slides=[str(half_slide.parent / "missing.svs")])
    two = full_manager.create("dataset", "slides", slides=[str(half_slide)] * 2, preload_mb=100)
    assert [s.preload_mb for s in two.crop_sources()] == [50, 50]  # the budget is split between slides
    with pytest.raises(ConfigError, match="preload_mb"):
        full_manager.create("dataset", "slides", slides=[str(half_slide)], preload_mb=-5)


def _train_config(tmp_path, slide, **overrides):
    config = {
        "name": "on-slides",
        "seed": 1,
        "train_data": {"name": "slides", "params": {"slides": [str(slide)], "min_tissue": 0.9}},
        "val_data": None,
        "pretext_task": {"name": "scale-classification", "params": {"classifier": "resnet10t"}},
        "backbone": {"name": "dilated-lite", "params": {"width": 4, "dilations": [1, 2]}},
        "regularizers": ["sparsity"],
        "epochs": 1,
        "steps_per_epoch": 1,
        "batch_size": 6,
        "crop_size": 16,
        "held_out_batches": 0,
        "stain_normalize": True,
        "output_dir": "runs",
        **overrides,
    }
    path = tmp_path / f"{config['name']}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_nucbench_train_on_a_slide(tmp_path, half_slide, capsys):
    """One step of a tiny run whose crops come from a slide, stain-normalised with its statistics."""
    reset_plugin_manager()
    assert main(["train", str(_train_config(tmp_path, half_slide)), "--no-progress"]) == 0
    record = json.loads((tmp_path / "runs/on-slides/history.jsonl").read_text())
    assert record["step"] == 1 and np.isfinite(record["loss/scale"])
    reset_plugin_manager()
    bad = _train_config(tmp_path, half_slide, name="bad", stain_normalize=False,
                        val_data={"name": "slides", "params": {"slides": [str(half_slide)]}})
    assert main(["train", str(bad), "--no-progress"]) == 2
    assert "val_data: dataset 'slides' gives unlabelled slides" in capsys.readouterr().err
