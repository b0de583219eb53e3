"""Adaptive thresholds on patches whose values differ by a few float32 steps (whole-slide glass)."""

import numpy as np
from nucbench_classic.thresholds import adaptive_threshold


def test_adaptive_threshold_on_an_almost_flat_image_does_not_fail():
    # 0.1 and the next float32 values: numpy cannot make 256 finite bins over that range, which
    # made every Otsu call on such a block raise; a flat block now just gives its value
    base = np.float32(0.1)
    image = np.full((64, 64), base, np.float32)
    image[::2] = np.nextafter(base, np.float32(1))
    t = adaptive_threshold(image, scope="adaptive", window=16)
    assert np.allclose(t, 0.1, atol=1e-6)
