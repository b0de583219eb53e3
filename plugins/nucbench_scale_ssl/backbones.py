"""Attention backbones F: image batch (N×3×H×W in [0, 1]) → confidence map ``a`` (N×1×H×W).

``dilated-resnet`` is the paper's F; ``dilated-lite`` is the efficient alternative used for
the shipped model: depthwise-separable dilated residual blocks, optionally run at half resolution
behind a stride-2 stem and upsampled back, which cuts the multiply-adds per pixel by ~20-50×.

References
----------
Sahasrabudhe et al., "Self-supervised nuclei segmentation in histopathological images using
attention", MICCAI 2020, Fig. 1 (F).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from nucbench_scale_ssl.polarity import orient
from nucbench_scale_ssl.weights import load_weights

__all__ = ["DilatedResNet", "DilatedLite", "count_parameters", "macs_per_pixel"]

PAPER_DILATIONS = (1, 2, 3, 5, 10, 20)


class _Block(nn.Module):
    """Residual block: two dilated 3×3 convs (Conv-BN-ReLU, Conv-BN) plus identity, then ReLU."""

    def __init__(self, width: int, dilation: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(x + self.bn2(self.conv2(y)))


class _SeparableBlock(nn.Module):
    """Residual block of two depthwise-separable dilated convs (dw 3×3 dilated → pw 1×1 → BN)."""

    def __init__(self, width: int, dilation: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(2):
            layers += [
                nn.Conv2d(width, width, 3, padding=dilation, dilation=dilation, groups=width, bias=False),
                nn.Conv2d(width, width, 1, bias=False),
                nn.BatchNorm2d(width),
            ]
            if i == 0:
                layers.append(nn.ReLU(inplace=True))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


class DilatedResNet(nn.Module):
    """The paper's attention network F: dilated residual blocks, full resolution.

    Conv-BN-ReLU 3→`width`, one residual block (two dilated 3×3 convs) per dilation, then a 1×1
    conv to one confidence channel. With the defaults (width 64, dilations 1, 2, 3, 5, 10, 20)
    it has 446 k parameters, a receptive field of 167 px and about 0.44 M multiply-adds per pixel.

    Parameters
    ----------
    width : int, optional
        Channels of every block (default 64, the paper's).
    dilations : sequence of int, optional
        One residual block per dilation (default the paper's 1, 2, 3, 5, 10, 20).
    in_channels : int, optional
        Input channels (default 3, RGB).
    pretrained_path : str, optional
        A LOCAL weights file to start from instead of the random initialisation: a state dict of
        this backbone with the same parameters, or a ``best.pt`` / ``checkpoint.pt`` of
        ``nucbench train`` (its F is taken). The random initialisation is still drawn first, so the
        rest of a seeded run (G, crops) draws the same numbers as without it.
    polarity : {None, "hematoxylin"}, optional
        ``None`` (default, the paper's) keeps the sign the seed gives F. ``"hematoxylin"`` negates
        the untrained head if F gives the hematoxylin discs of a synthetic H&E probe less
        confidence than their ground (:mod:`nucbench_scale_ssl.polarity`), label-free.

    References
    ----------
    Sahasrabudhe et al., MICCAI 2020, Section 3 and Fig. 1.

    Examples
    --------
    >>> f = DilatedResNet(width=4, dilations=(1, 2))
    >>> f(torch.zeros(1, 3, 8, 8)).shape
    torch.Size([1, 1, 8, 8])
    """

    def __init__(
        self,
        width: int = 64,
        dilations: Sequence[int] = PAPER_DILATIONS,
        in_channels: int = 3,
        pretrained_path: str | None = None,
        polarity: str | None = None,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        )
        self.blocks = nn.Sequential(*[_Block(width, int(d)) for d in dilations])
        self.head = nn.Conv2d(width, 1, 1)
        _start_from(self, pretrained_path, polarity)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


class DilatedLite(nn.Module):
    """Efficient attention network: dilated residual blocks behind a stride-2 stem, optionally separable.

    Same layout as :class:`DilatedResNet` (stem, one residual block per dilation, 1×1 head), but
    narrower, optionally depthwise-separable, and with ``stride=2`` the blocks run at half resolution
    (the dilations are halved, rounded up, so the receptive field in input pixels stays about the
    same) and the confidence map is upsampled bilinearly to the input size.

    Parameters
    ----------
    width : int, optional
        Channels of every block (default 24).
    dilations : sequence of int, optional
        Dilations in input pixels (default the paper's 1, 2, 3, 5, 10, 20).
    stride : {1, 2}, optional
        Stem stride (default 2).
    separable : bool, optional
        Depthwise-separable convs (default False: dense dilated 3×3 convs as in the paper's F,
        behind the strided stem). Separable convs have 5-10× fewer multiply-adds, but PyTorch's
        dilated depthwise kernels are slow on CPU, so on the machines measured here the dense
        variant trains faster (``benchmarks/train_speed.py``).
    in_channels : int, optional
        Input channels (default 3).
    pretrained_path, polarity : optional
        As for :class:`DilatedResNet`.

    Examples
    --------
    >>> f = DilatedLite(width=4, dilations=(1, 2), stride=2)
    >>> f(torch.zeros(1, 3, 8, 8)).shape
    torch.Size([1, 1, 8, 8])
    """

    def __init__(
        self,
        width: int = 24,
        dilations: Sequence[int] = PAPER_DILATIONS,
        stride: int = 2,
        separable: bool = False,
        in_channels: int = 3,
        pretrained_path: str | None = None,
        polarity: str | None = None,
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        self.stride = stride
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        )
        inner = [max(1, -(-int(d) // stride)) for d in dilations]
        block = _SeparableBlock if separable else _Block
        self.blocks = nn.Sequential(*[block(width, d) for d in inner])
        self.head = nn.Conv2d(width, 1, 1)
        _start_from(self, pretrained_path, polarity)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.head(self.blocks(self.stem(x)))
        if self.stride != 1:
            a = F.interpolate(a, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return a


def _start_from(backbone: nn.Module, pretrained_path: str | None, polarity: str | None) -> None:
    """The backbones' common last step of ``__init__``: load `pretrained_path`, then orient."""
    if pretrained_path:
        load_weights(backbone, pretrained_path, owner="attention backbone", part="backbone")
    orient(backbone, backbone.head, polarity)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def macs_per_pixel(module: nn.Module, size: int = 64) -> float:
    """Multiply-adds per input pixel of a forward pass, counted on a `size`×`size` input.

    Counts convolutions and linear layers only (they dominate).
    """
    total = 0

    def hook(mod: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
            total += output.numel() * k
        elif isinstance(mod, nn.Linear):
            total += output.numel() * mod.in_features

    handles = [
        m.register_forward_hook(hook) for m in module.modules() if isinstance(m, nn.Conv2d | nn.Linear)
    ]
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            module(torch.zeros(1, 3, size, size))
    finally:
        module.train(was_training)
        for h in handles:
            h.remove()
    return total / (size * size)
