"""Image and label-image reading/writing (nucbench.data.io)."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from nucbench.data.io import read_image, read_label_image, write_label_image
from nucbench.errors import InputError


def test_read_rgb_png(tmp_path):
    rgb = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    out = read_image(tmp_path / "a.png")
    assert out.dtype == np.uint8 and out.shape == (4, 5, 3)
    np.testing.assert_array_equal(out, rgb)


def test_read_grey_replicated(tmp_path):
    Image.fromarray(np.full((3, 2), 9, np.uint8)).save(tmp_path / "g.png")
    out = read_image(tmp_path / "g.png")
    assert out.shape == (3, 2, 3) and (out == 9).all()


def test_read_rgba_composited_over_white(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)  # opaque red stays red
    rgba[0, 1] = (0, 0, 0, 0)  # transparent → white
    rgba[1, 0] = (0, 0, 0, 51)  # 20 % black over white: 255 * 0.8 = 204
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    out = read_image(tmp_path / "a.png")
    assert out[0, 0].tolist() == [255, 0, 0]
    assert out[0, 1].tolist() == [255, 255, 255]
    assert out[1, 0].tolist() == [204, 204, 204]


def test_read_16bit_tiff_scaled(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", np.array([[0, 65535], [257, 514]], np.uint16))
    out = read_image(tmp_path / "a.tif")
    # 65535 / 257 = 255, 257 / 257 = 1, 514 / 257 = 2
    assert out[..., 0].tolist() == [[0, 255], [1, 2]]


def test_read_real_monuseg_tiffs(monuseg_root):
    # one PackBits test tile and one LZW training tile
    for path in (
        monuseg_root / "test/images/TCGA-2Z-A9J9-01A-01-TS1.tif",
        monuseg_root / "train/images/TCGA-21-5784-01Z-00-DX1.tif",
    ):
        image = read_image(path)
        assert image.shape == (1000, 1000, 3) and image.dtype == np.uint8
        assert 50 < image.mean() < 250


def test_missing_image_names_file(tmp_path):
    with pytest.raises(InputError, match=r"nope\.png: no such file"):
        read_image(tmp_path / "nope.png")


def test_corrupt_image_names_file(tmp_path):
    bad = tmp_path / "corrupt.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(InputError, match=r"corrupt\.png: cannot read it as an image"):
        read_image(bad)
    bad_tif = tmp_path / "corrupt.tif"
    bad_tif.write_bytes(b"II*\x00" + b"\x00" * 20)
    with pytest.raises(InputError, match=r"corrupt\.tif: cannot read it as an image"):
        read_image(bad_tif)


def test_truncated_real_tiff_names_file(tmp_path, monuseg_root):
    real = monuseg_root / "train/images/TCGA-21-5784-01Z-00-DX1.tif"
    truncated = tmp_path / "truncated.tif"
    truncated.write_bytes(real.read_bytes()[:20000])
    with pytest.raises(InputError, match=r"truncated\.tif: cannot read it as an image"):
        read_image(truncated)


def test_unsupported_suffix(tmp_path):
    (tmp_path / "a.gif").write_bytes(b"GIF89a")
    with pytest.raises(InputError, match=r"a\.gif: unsupported image format '\.gif'"):
        read_image(tmp_path / "a.gif")


@pytest.mark.parametrize("suffix", [".png", ".tif", ".npy"])
def test_label_roundtrip(tmp_path, suffix):
    labels = np.array([[0, 1, 1], [2, 0, 65535]], np.int64)
    written = write_label_image(tmp_path / f"l{suffix}", labels)
    assert written == tmp_path / f"l{suffix}"
    back = read_label_image(written)
    assert back.dtype == np.int32
    np.testing.assert_array_equal(back, labels)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"l{suffix}"]  # no temp file left


def test_png_is_16bit(tmp_path):
    write_label_image(tmp_path / "l.png", np.array([[0, 300]]))
    with Image.open(tmp_path / "l.png") as im:
        assert im.mode == "I;16"


def test_large_ids_become_32bit_tiff(tmp_path):
    labels = np.array([[0, 65536], [70000, 1]])
    written = write_label_image(tmp_path / "many.png", labels)
    assert written == tmp_path / "many.tif"
    assert tifffile.imread(written).dtype == np.uint32
    np.testing.assert_array_equal(read_label_image(written), labels)


def test_write_creates_parents_and_overwrites(tmp_path):
    target = tmp_path / "a" / "b" / "l.png"
    write_label_image(target, np.ones((2, 2), int))
    write_label_image(target, np.full((2, 2), 2))
    assert (read_label_image(target) == 2).all()


def test_write_rejects_bad_labels(tmp_path):
    with pytest.raises(InputError, match=r"l\.png: labels have dtype float64"):
        write_label_image(tmp_path / "l.png", np.zeros((2, 2)))
    with pytest.raises(InputError, match=r"expected H×W"):
        write_label_image(tmp_path / "l.png", np.zeros((2, 2, 3), int))
    with pytest.raises(InputError, match=r"negative ids"):
        write_label_image(tmp_path / "l.png", np.array([[-1, 0]]))
    with pytest.raises(InputError, match=r"cannot write labels as '\.jpg'"):
        write_label_image(tmp_path / "l.jpg", np.zeros((2, 2), int))
    assert list(tmp_path.iterdir()) == []


def test_read_label_rejects_float_and_rgb(tmp_path):
    np.save(tmp_path / "f.npy", np.zeros((2, 2), np.float32))
    with pytest.raises(InputError, match=r"f\.npy: label image has dtype float32"):
        read_label_image(tmp_path / "f.npy")
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(tmp_path / "rgb.png")
    with pytest.raises(InputError, match=r"rgb\.png: label image has shape \(2, 2, 3\)"):
        read_label_image(tmp_path / "rgb.png")


def test_read_label_binary_png(monuseg_root):
    labels = read_label_image(monuseg_root / "train/binary_masks/TCGA-21-5784-01Z-00-DX1.png")
    assert labels.shape == (1000, 1000) and set(np.unique(labels)) == {0, 1}
