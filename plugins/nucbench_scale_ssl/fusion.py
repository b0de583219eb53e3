"""Inference-only form of a trained attention network: batch norm folded, ReLU and residual fused.

At inference a BatchNorm layer in eval mode is an affine map per channel, so it folds into the
preceding convolution's weights and bias (``w' = w·γ/σ``, ``b' = β − μ·γ/σ``, σ = √(var + ε)).
What remains of a residual block is ``relu(conv2(relu(conv1(x))) + x)``: on a CPU with oneDNN the
ReLU and the residual addition run inside the convolution (oneDNN post-ops, the kernels PyTorch's
own compiler uses), elsewhere as in-place operations after it. The result equals the module's
eval-mode output up to float rounding (about 1e-5) at about 40 % of its time on a 2-core CPU
(``benchmarks/infer_speed.py``). The trained module, its parameters and checkpoints are unchanged.

References
----------
Jacob et al., "Quantization and training of neural networks for efficient integer-arithmetic-only
inference", CVPR 2018, Sec. 3.2 (batch-norm folding).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nucbench_scale_ssl.backbones import DilatedLite, DilatedResNet, _Block, _SeparableBlock

__all__ = ["fold_batchnorm", "FusedAttention", "fuse_for_inference"]


def fold_batchnorm(conv: nn.Conv2d, bn: nn.BatchNorm2d | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of one convolution equal to `conv` followed by `bn` in eval mode.

    Examples
    --------
    >>> conv, bn = nn.Conv2d(2, 3, 1, bias=False), nn.BatchNorm2d(3).eval()
    >>> weight, bias = fold_batchnorm(conv, bn)
    >>> weight.shape, bias.shape
    (torch.Size([3, 2, 1, 1]), torch.Size([3]))
    """
    weight = conv.weight.detach().float()
    if conv.bias is not None:
        bias = conv.bias.detach().float()
    else:
        bias = torch.zeros(weight.shape[0], device=weight.device)
    if bn is not None:
        scale = bn.weight.detach().float() / torch.sqrt(bn.running_var.float() + bn.eps)
        weight = weight * scale.view(-1, 1, 1, 1)
        bias = bn.bias.detach().float() + (bias - bn.running_mean.float()) * scale
    return weight.contiguous(), bias.contiguous()


@dataclass(frozen=True)
class _Conv:
    weight: torch.Tensor
    bias: torch.Tensor | None
    stride: int
    padding: int
    dilation: int
    groups: int

    @classmethod
    def of(cls, conv: nn.Conv2d, bn: nn.BatchNorm2d | None = None, *, bias: bool = True) -> _Conv:
        weight, folded = fold_batchnorm(conv, bn)
        return cls(weight, folded if (bias or bn is not None or conv.bias is not None) else None,
                   conv.stride[0], conv.padding[0], conv.dilation[0], conv.groups)


def _onednn_fusion_works() -> bool:
    """Whether oneDNN's fused convolution ops exist and agree with the plain ops here."""
    try:
        op = torch.ops.mkldnn._convolution_pointwise
        x = torch.arange(2 * 5 * 5, dtype=torch.float32).view(1, 2, 5, 5) / 25 - 1
        w = torch.linspace(-1, 1, 2 * 2 * 9).view(2, 2, 3, 3)
        b = torch.tensor([0.1, -0.2])
        with torch.inference_mode():
            fused = op.binary(x, x, w, b, [2, 2], [1, 1], [2, 2], 1, "add", None, "relu", [], "")
            unary = op.default(x, w, b, [2, 2], [1, 1], [2, 2], 1, "relu", [], "")
            plain = F.conv2d(x, w, b, padding=2, dilation=2)
        return bool(torch.allclose(fused, F.relu(plain + x), atol=1e-5)
                    and torch.allclose(unary, F.relu(plain), atol=1e-5))
    except (AttributeError, RuntimeError, NotImplementedError):
        return False


class FusedAttention(nn.Module):
    """Eval-mode :class:`DilatedLite` / :class:`DilatedResNet` with folded batch norm and fused ops.

    Parameters
    ----------
    backbone : DilatedLite or DilatedResNet
        A trained network (its eval-mode statistics are used; it is not modified). The folded
        weights stay on its device.
    onednn : bool, optional
        Use oneDNN's fused convolution + ReLU (+ residual) kernels. Default: when they are
        available and agree with the plain ops; they are used on CPU tensors only.

    Examples
    --------
    >>> net = DilatedLite(width=4, dilations=(1, 2)).eval()
    >>> x = torch.rand(1, 3, 12, 12)
    >>> bool(torch.allclose(FusedAttention(net)(x), net(x), atol=1e-5))
    True
    """

    def __init__(self, backbone: DilatedLite | DilatedResNet, onednn: bool | None = None) -> None:
        super().__init__()
        self.onednn = _onednn_fusion_works() if onednn is None else onednn
        self.stride = getattr(backbone, "stride", 1)
        self.stem = _Conv.of(backbone.stem[0], backbone.stem[1])
        self.blocks: list[tuple[_Conv | None, _Conv, _Conv | None, _Conv]] = []
        for block in backbone.blocks:
            if isinstance(block, _Block):
                self.blocks.append((None, _Conv.of(block.conv1, block.bn1),
                                    None, _Conv.of(block.conv2, block.bn2)))
            elif isinstance(block, _SeparableBlock):
                dw1, pw1, bn1, _, dw2, pw2, bn2 = block.body
                self.blocks.append((_Conv.of(dw1, bias=False), _Conv.of(pw1, bn1),
                                    _Conv.of(dw2, bias=False), _Conv.of(pw2, bn2)))
            else:
                raise TypeError(f"cannot fuse a {type(block).__name__} block")
        self.head = _Conv.of(backbone.head)

    def _conv(self, x: torch.Tensor, c: _Conv, relu: bool = False,
              residual: torch.Tensor | None = None) -> torch.Tensor:
        fusable = relu or residual is not None
        if fusable and self.onednn and x.device.type == "cpu" and x.dtype == torch.float32:
            op = torch.ops.mkldnn._convolution_pointwise
            geometry = ([c.padding] * 2, [c.stride] * 2, [c.dilation] * 2, c.groups)
            if residual is None:
                return op.default(x, c.weight, c.bias, *geometry, "relu", [], "")
            return op.binary(x, residual, c.weight, c.bias, *geometry, "add", None,
                             "relu" if relu else None, [], "")
        y = F.conv2d(x, c.weight, c.bias, c.stride, c.padding, c.dilation, c.groups)
        if residual is not None:
            y += residual
        return F.relu_(y) if relu else y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Confidence map a (N×1×H×W) of an N×3×H×W batch, as the backbone's forward."""
        y = self._conv(x, self.stem, relu=True)
        for dw1, c1, dw2, c2 in self.blocks:
            z = self._conv(y if dw1 is None else self._conv(y, dw1), c1, relu=True)
            y = self._conv(z if dw2 is None else self._conv(z, dw2), c2, relu=True, residual=y)
        a = self._conv(y, self.head)
        if self.stride != 1:
            a = F.interpolate(a, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return a


def fuse_for_inference(backbone: nn.Module) -> nn.Module:
    """The fused inference form of `backbone` if it is a dilated network of this package, else itself.

    Examples
    --------
    >>> fuse_for_inference(nn.Identity())
    Identity()
    """
    if type(backbone) in (DilatedLite, DilatedResNet):
        return FusedAttention(backbone).eval()
    return backbone
