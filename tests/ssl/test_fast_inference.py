"""The inference speed-ups give the same output: folded/fused F, channels-last tiling, the segmenter."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nucbench_scale_ssl.backbones import DilatedLite, DilatedResNet
from nucbench_scale_ssl.fusion import FusedAttention, fold_batchnorm, fuse_for_inference
from torch import nn

from nucbench.infer import predict_tiled


def _randomise_batchnorm(net: nn.Module, seed: int) -> nn.Module:
    """Non-trivial eval-mode statistics, so that folding is really exercised."""
    gen = torch.Generator().manual_seed(seed)
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.rand(n, generator=gen) * 2 - 1)
            module.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            module.bias.data.copy_(torch.rand(n, generator=gen) - 0.5)
    return net.eval()


def test_fold_batchnorm_by_hand():
    conv = nn.Conv2d(1, 1, 1, bias=False)
    conv.weight.data.fill_(2.0)
    bn = nn.BatchNorm2d(1, eps=0.0).eval()
    bn.running_mean.fill_(1.0)
    bn.running_var.fill_(4.0)
    bn.weight.data.fill_(3.0)
    bn.bias.data.fill_(0.5)
    # bn(conv(x)) = (2x − 1) / √4 · 3 + 0.5 = 3x − 1: weight 2 · 3/2 = 3, bias 0.5 − 1 · 3/2 = −1
    weight, bias = fold_batchnorm(conv, bn)
    assert weight.item() == 3.0 and bias.item() == -1.0


NETS = {
    "lite-stride2": lambda: DilatedLite(width=6, dilations=(1, 2, 5), stride=2),
    "lite-separable": lambda: DilatedLite(width=6, dilations=(1, 3), stride=1, separable=True),
    "paper": lambda: DilatedResNet(width=6, dilations=(1, 2)),
}


@pytest.mark.parametrize("onednn", [False, True])
@pytest.mark.parametrize("name", sorted(NETS))
def test_fused_network_equals_the_eval_mode_network(name, onednn):
    torch.manual_seed(0)
    net = _randomise_batchnorm(NETS[name](), seed=1)
    fused = FusedAttention(net, onednn=onednn)
    if onednn and not fused.onednn:
        pytest.skip("oneDNN fused convolutions are not available in this torch build")
    x = torch.rand(2, 3, 23, 30)
    with torch.inference_mode():
        expected = net(x)
        for inp in (x, x.contiguous(memory_format=torch.channels_last)):
            assert (fused(inp) - expected).abs().max().item() < 1e-5


def test_fuse_for_inference_leaves_other_networks_alone():
    other = nn.Conv2d(3, 1, 1)
    assert fuse_for_inference(other) is other
    assert isinstance(fuse_for_inference(DilatedLite(width=4, dilations=(1,)).eval()), FusedAttention)


@pytest.mark.parametrize("channels_last", [False, True])
def test_tiled_inference_in_any_memory_format_equals_whole_image_inference(channels_last):
    torch.manual_seed(0)
    net = _randomise_batchnorm(DilatedLite(width=4, dilations=(1,), stride=1), seed=2)
    fused = FusedAttention(net)
    image = np.random.default_rng(0).random((41, 50, 3)).astype(np.float32)
    with torch.inference_mode():
        whole = net(torch.from_numpy(image.transpose(2, 0, 1).copy())[None])[0, 0].numpy()
    # receptive-field radius 1 (stem) + 2 (block of two 3×3 convs) = 3 px, so overlap 12 drops
    # 12 // 4 = 3 px along shared edges and the tiled map is exact; tile 24 → 3 × 3 tiles here
    tiled = predict_tiled(fused, image, tile=24, overlap=12, batch_size=4, channels_last=channels_last)
    assert np.abs(tiled - whole).max() < 1e-5


def _whole_map_activation(segmenter, confidence: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return segmenter.activation(torch.from_numpy(confidence)[None, None])[0, 0].numpy()


@pytest.fixture
def shipped_single(tmp_path, shipped_member) -> str:
    """The shipped checkpoint's first model alone (the shipped model may be an ensemble)."""
    path = tmp_path / "single.pt"
    torch.save(shipped_member(), path)
    return str(path)


def test_shipped_segmenter_runs_the_fused_network_with_unchanged_output(shipped_single):
    import nucbench
    from nucbench.data.stain import reinhard_normalise

    rng = np.random.default_rng(3)
    image = rng.integers(60, 230, (64, 80, 3), dtype=np.uint8)
    # scale 1 (F at the image's resolution) whatever the shipped default, to compare map for map
    segmenter = nucbench.create("segmenter", "scale-ssl", checkpoint=shipped_single, tile=48, overlap=16,
                                scale=1.0)
    assert isinstance(segmenter.network, FusedAttention)

    # the unfused, contiguous network, then the activation over the whole confidence map
    confidence = predict_tiled(segmenter.backbone, reinhard_normalise(image), tile=48, overlap=16)
    expected = _whole_map_activation(segmenter, confidence)
    attention = segmenter.attention(image)
    assert attention.shape == (64, 80)
    assert np.abs(attention - expected).max() < 1e-4


def test_the_activation_sees_the_whole_map_whatever_the_tiling():
    from nucbench.infer import attention_map

    # a pixel-wise "network" (red channel) and a τ = the map's own median: the left half of the
    # image is dark, so a 16 px tile of it alone would put its own median inside it and light half
    # of its pixels; over the whole map exactly the bright right half is attended, at any tiling
    image = np.zeros((32, 64, 3), np.uint8)
    image[:, :32] = np.arange(32, dtype=np.uint8)[None, :, None]  # 0..31
    image[:, 32:] = 200 + np.arange(32, dtype=np.uint8)[None, :, None]  # 200..231

    def red(batch):
        return batch[:, :1]

    def median_activation(confidence):
        return (confidence > confidence.flatten().median()).float()

    for tile, overlap in [(16, 8), (32, 8), (64, 0)]:
        a = attention_map(red, median_activation, image, tile=tile, overlap=overlap)
        assert a[:, 32:].all() and not a[:, :32].any(), (tile, overlap)


def test_scale_runs_f_on_the_resized_image_and_returns_a_at_full_size(shipped_single):
    import torch.nn.functional as F
    from PIL import Image

    import nucbench
    from nucbench.data.stain import reinhard_normalise

    rng = np.random.default_rng(4)
    image = rng.integers(60, 230, (37, 51, 3), dtype=np.uint8)
    half = nucbench.create("segmenter", "scale-ssl", checkpoint=shipped_single, scale=0.5)
    # 51 × 37 · 0.5 = 25.5 × 18.5 → rounded to 26 × 18 (PIL size is width, height)
    resized = np.asarray(Image.fromarray(image).resize((26, 18), Image.Resampling.BICUBIC))
    small = predict_tiled(half.backbone, reinhard_normalise(resized))
    confidence = F.interpolate(torch.from_numpy(small)[None, None], size=(37, 51), mode="bilinear",
                               align_corners=False)[0, 0].numpy()
    expected = _whole_map_activation(half, confidence)
    attention = half.attention(image)
    assert attention.shape == (37, 51)
    assert np.abs(attention - expected).max() < 1e-4
    assert half.segment(image).shape == (37, 51)


def test_a_20x_image_is_post_processed_at_40x_and_labelled_at_its_own_size():
    import nucbench

    segmenter = nucbench.create("segmenter", "scale-ssl")
    # a 20x image: two dark 6 px "nuclei" (12 px at 40x) on pale pink tissue
    image = np.full((40, 60, 3), (230, 190, 210), np.uint8)
    image[10:16, 10:16] = image[24:30, 40:46] = (70, 40, 120)
    assert segmenter.attention(image, mpp=0.5).shape == (80, 120)  # A at 0.25 µm/px
    labels = segmenter.segment(image, mpp=0.5)
    assert labels.shape == (40, 60)
    with pytest.raises(nucbench.InputError, match="mpp"):
        segmenter.segment(image, mpp=0.0)


@pytest.mark.parametrize("scale", [0.0, -1.0, 1.5])
def test_scale_out_of_range_is_a_config_error(scale):
    import nucbench
    from nucbench import ConfigError

    with pytest.raises(ConfigError, match="scale"):
        nucbench.create("segmenter", "scale-ssl", scale=scale)
