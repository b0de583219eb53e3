"""A small U-Net for nuclei: RGB → foreground logit and normalised distance to the nucleus border."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["SmallUNet"]


def _conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class SmallUNet(nn.Module):
    """U-Net (Ronneberger et al., MICCAI 2015) with few channels: two 3×3 convs per encoder level,
    one per decoder level, bilinear upsampling, skip connections by concatenation.

    Parameters
    ----------
    widths : tuple of int
        Channels per level, full resolution first; the input is downsampled
        ``len(widths) - 1`` times, so H and W must be multiples of ``2 ** (len(widths) - 1)``.
    out_channels : int
        Output maps: channel 0 is the foreground logit, channel 1 the distance map (sigmoid
        gives the distance to the background normalised by each nucleus' maximum).
    """

    def __init__(self, widths: tuple[int, ...] = (8, 16, 32, 64, 128), out_channels: int = 2) -> None:
        super().__init__()
        self.widths = tuple(widths)
        self.encoders = nn.ModuleList()
        c_prev = 3
        for w in widths:
            self.encoders.append(nn.Sequential(_conv(c_prev, w), _conv(w, w)))
            c_prev = w
        self.decoders = nn.ModuleList(
            _conv(widths[i + 1] + widths[i], widths[i]) for i in reversed(range(len(widths) - 1))
        )
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    @property
    def multiple(self) -> int:
        """Input sizes must be multiples of this."""
        return 2 ** (len(self.widths) - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, enc in enumerate(self.encoders):
            if i:
                x = F.max_pool2d(x, 2)
            x = enc(x)
            skips.append(x)
        skips.pop()
        for dec in self.decoders:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = dec(torch.cat([x, skip], dim=1))
        return self.head(x)
