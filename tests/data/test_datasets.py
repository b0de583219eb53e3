"""The ``monuseg`` and ``folder`` dataset plugins."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from nucbench.data import Sample, count_monuseg_regions, write_label_image
from nucbench.errors import ConfigError, InputError


def test_monuseg_splits(full_manager, data_root):
    sizes = {s: len(full_manager.create("dataset", "monuseg", root=str(data_root), split=s))
             for s in ("train", "val", "train-all", "test")}
    assert sizes == {"train": 19, "val": 11, "train-all": 30, "test": 14}
    train = full_manager.create("dataset", "monuseg", root=str(data_root), split="train")
    val = full_manager.create("dataset", "monuseg", root=str(data_root), split="val")
    assert not set(train.ids) & set(val.ids)
    assert sorted(train.ids + val.ids) == list(
        full_manager.create("dataset", "monuseg", root=str(data_root), split="train-all").ids)
    # every validation tile carries the organisers' XML
    assert all(val.label_source(i) == "xml" for i in range(len(val)))


def test_monuseg_root_from_env_and_monuseg_folder(full_manager, data_root, monkeypatch):
    monkeypatch.setenv("NUCBENCH_DATA", str(data_root))
    assert len(full_manager.create("dataset", "monuseg")) == 14  # default split: test
    monkeypatch.delenv("NUCBENCH_DATA")
    assert len(full_manager.create("dataset", "monuseg", root=str(data_root / "monuseg"))) == 14
    with pytest.raises(ConfigError, match="NUCBENCH_DATA"):
        full_manager.create("dataset", "monuseg")


def test_monuseg_test_sample(full_manager, data_root):
    test = full_manager.create("dataset", "monuseg", root=str(data_root), split="test")
    sample = test[0]
    assert isinstance(sample, Sample)
    assert sample.id == "TCGA-2Z-A9J9-01A-01-TS1"
    assert sample.image.shape == (1000, 1000, 3) and sample.image.dtype == np.uint8
    assert sample.labels.shape == (1000, 1000) and sample.labels.dtype == np.int32
    assert sample.mpp == pytest.approx(0.2527) and sample.magnification == 40
    assert len(np.unique(sample.labels)) - 1 == 575 == count_monuseg_regions(test.xml_path(0))


def test_monuseg_train_label_sources(full_manager, data_root):
    train_all = full_manager.create("dataset", "monuseg", root=str(data_root), split="train-all")
    sources = [train_all.label_source(i) for i in range(len(train_all))]
    assert sources.count("xml") == 13 and sources.count("colour") == 17
    # a tile without XML: labels from the colour mask, mpp falls back to 0.25
    i = train_all.ids.index("TCGA-18-5592-01Z-00-DX1")
    sample = train_all[i]
    assert sample.labels is not None and sample.labels.max() > 100 and sample.mpp == 0.25
    # TCGA-NH-A8F7's XML has no MicronsPerPixel: fallback 0.25
    assert train_all[train_all.ids.index("TCGA-NH-A8F7-01A-01-TS1")].mpp == 0.25


def test_monuseg_unlabelled_and_binary(full_manager, data_root):
    none = full_manager.create("dataset", "monuseg", root=str(data_root), split="train", labels="none")
    assert none[0].labels is None
    binary = full_manager.create("dataset", "monuseg", root=str(data_root), split="train", labels="binary")
    assert binary.label_source(0) == "binary" and binary[-1].labels.max() > 10


def test_monuseg_errors(full_manager, data_root, tmp_path):
    with pytest.raises(ConfigError, match="split"):
        full_manager.create("dataset", "monuseg", root=str(data_root), split="validation")
    with pytest.raises(InputError, match="test split has only XML labels"):
        full_manager.create("dataset", "monuseg", root=str(data_root), split="test", labels="colour")
    with pytest.raises(IndexError):
        full_manager.create("dataset", "monuseg", root=str(data_root), split="val")[11]


def test_missing_dataset_folder_names_it(full_manager, tmp_path):
    with pytest.raises(InputError, match=r"nowhere: dataset 'monuseg' folder not found"):
        full_manager.create("dataset", "monuseg", root=str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match=r"monuseg: dataset 'monuseg' folder not found"):
        full_manager.create("dataset", "monuseg", root=str(tmp_path))
    (tmp_path / "monuseg" / "test" / "images").mkdir(parents=True)
    with pytest.raises(InputError, match=r"images: monuseg split 'test' lacks 14 of 14 tiles"):
        full_manager.create("dataset", "monuseg", root=str(tmp_path))
    with pytest.raises(InputError, match=r"nothing: dataset 'folder' folder not found"):
        full_manager.create("dataset", "folder", root=str(tmp_path / "nothing"))


def make_folder(root, n=2, size=(6, 8)):
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for k in range(n):
        Image.fromarray(np.full(size + (3,), 40 * k, np.uint8)).save(root / "images" / f"img{k}.png")
        labels = np.zeros(size, np.int32)
        labels[1:3, 1:3] = k + 1
        write_label_image(root / "masks" / f"img{k}.png", labels)
    return root


def test_folder_dataset(full_manager, tmp_path):
    root = make_folder(tmp_path / "set")
    ds = full_manager.create("dataset", "folder", root=str(root), magnification=40)
    assert len(ds) == 2 and ds.ids == ("img0", "img1")
    sample = ds[1]
    assert sample.id == "img1" and sample.image.shape == (6, 8, 3)
    assert sample.labels[1, 1] == 2 and (sample.labels > 0).sum() == 4
    assert sample.magnification == 40 and sample.mpp == pytest.approx(0.25)  # 10 / 40
    unlabelled = full_manager.create("dataset", "folder", root=str(root), masks="", mpp=0.5)
    assert unlabelled[0].labels is None and unlabelled[0].magnification == pytest.approx(20)


def test_folder_root_relative_to_env(full_manager, tmp_path, monkeypatch):
    make_folder(tmp_path / "set")
    monkeypatch.setenv("NUCBENCH_DATA", str(tmp_path))
    assert len(full_manager.create("dataset", "folder", root="set")) == 2


def test_folder_colour_and_npy_masks(full_manager, tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "images" / "a.tif")
    colour = np.zeros((4, 4, 3), np.uint8)
    colour[0, :2] = (200, 10, 10)
    colour[3, 3] = (10, 200, 10)
    Image.fromarray(colour).save(tmp_path / "masks" / "a.png")
    ds = full_manager.create("dataset", "folder", root=str(tmp_path), mask_type="colour")
    assert ds[0].labels.max() == 2
    (tmp_path / "masks" / "a.png").unlink()
    np.save(tmp_path / "masks" / "a.npy", np.eye(4, dtype=np.uint16) * 3)
    assert full_manager.create("dataset", "folder", root=str(tmp_path))[0].labels.sum() == 12


def test_folder_mask_size_mismatch_names_both(full_manager, tmp_path):
    root = make_folder(tmp_path / "set")
    write_label_image(root / "masks" / "img1.png", np.zeros((5, 8), np.int32))
    ds = full_manager.create("dataset", "folder", root=str(root))
    with pytest.raises(InputError, match=r"masks/img1\.png: mask is 5×8 but its image .*img1\.png is 6×8"):
        ds[1]


def test_folder_missing_mask_and_bad_params(full_manager, tmp_path):
    root = make_folder(tmp_path / "set")
    (root / "masks" / "img0.png").unlink()
    with pytest.raises(InputError, match=r"img0\.png: no mask with stem 'img0'"):
        full_manager.create("dataset", "folder", root=str(root))
    with pytest.raises(ConfigError, match="mpp must be positive"):
        full_manager.create("dataset", "folder", root=str(root), masks="", mpp=0)


def test_monuseg_mask_size_mismatch(tmp_path, monuseg_root, full_manager):
    """A derived mask whose size differs from its tile names both files."""
    case = "TCGA-18-5592-01Z-00-DX1"
    train = tmp_path / "monuseg" / "train"
    (train / "images").mkdir(parents=True)
    (train / "colour_masks_derived").mkdir()
    from nucbench_datasets.monuseg import SPLITS

    for c in SPLITS["train"][1]:
        (train / "images" / f"{c}.tif").symlink_to(monuseg_root / "train/images" / f"{c}.tif")
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(train / "colour_masks_derived" / f"{case}.png")
    ds = full_manager.create("dataset", "monuseg", root=str(tmp_path), split="train")
    message = rf"{case}\.png: mask is 10×10 but its image .*{case}\.tif is 1000×1000"
    with pytest.raises(InputError, match=message):
        ds[ds.ids.index(case)]


def contract_params(name, data_root, tmp_path):
    """Parameters that build each built-in dataset on small or real data."""
    if name == "monuseg":
        return {"root": str(data_root), "split": "val"}
    if name == "folder":
        return {"root": str(make_folder(tmp_path / "contract")), "magnification": 20}
    pytest.fail(f"dataset '{name}' has no contract parameters in this test: add them")


@pytest.mark.parametrize("name", ["folder", "monuseg"])
def test_dataset_contract(full_manager, data_root, tmp_path, name):
    # 'slides' holds whole slides for training crops, not samples: tests in test_slide_sampling.py
    assert sorted(full_manager.registries.dataset.names()) == ["folder", "monuseg", "slides"]
    ds = full_manager.create("dataset", name, **contract_params(name, data_root, tmp_path))
    assert len(ds) > 0 and len(ds.ids) == len(set(ds.ids)) == len(ds)
    sample = ds[len(ds) - 1]
    assert isinstance(sample, Sample) and sample.id == ds.ids[-1]
    assert sample.image.dtype == np.uint8 and sample.image.ndim == 3 and sample.image.shape[2] == 3
    assert sample.labels.dtype == np.int32 and sample.labels.shape == sample.image.shape[:2]
    assert sample.labels.min() == 0 and sample.mpp > 0 and sample.magnification > 0
    assert ds[-1].id == sample.id
