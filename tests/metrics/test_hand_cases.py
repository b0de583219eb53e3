"""Every metric on small cases worked out by hand (arithmetic in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from nucbench_metrics.aji import aji, aji_plus, aji_plus_terms, aji_terms
from nucbench_metrics.glas import adc, ahd
from nucbench_metrics.matching import dq, f1, pq, precision, recall, sq
from nucbench_metrics.pixel import dice

from .conftest import square

ALL = {"aji": aji, "aji-plus": aji_plus, "adc": adc, "ahd": ahd, "pq": pq, "dq": dq, "sq": sq,
       "dice": dice, "precision": precision, "recall": recall, "f1": f1}


def check(true, pred, expected):
    got = {name: ALL[name](true, pred) for name in expected}
    assert got == pytest.approx(expected, abs=1e-12)


def test_shifted_square():
    # 4×4 square vs the same square one pixel to the right: intersection 12, union 20.
    true = square((6, 7), 1, 1, 4)
    pred = square((6, 7), 1, 2, 4, value=7)
    check(true, pred, {
        "aji": 12 / 20, "aji-plus": 12 / 20,
        "dice": 2 * 12 / 32,                      # pixel Dice 24/32
        "adc": 2 * 12 / 32,                       # one object each way, Dice 0.75
        "ahd": 1.0,                               # every pixel is within 1 of the other square
        "pq": 0.6, "dq": 1.0, "sq": 0.6,          # IoU 0.6 > 0.5: TP 1, FP 0, FN 0
        "precision": 1.0, "recall": 1.0, "f1": 1.0,
    })


def test_split():
    # One 4×4 nucleus (16 px) predicted as two 2×4 halves with ids 3 (top) and 9 (bottom).
    true = square((4, 4), 0, 0, 4)
    pred = np.zeros((4, 4), int)
    pred[:2], pred[2:] = 3, 9
    check(true, pred, {
        # IoU 8/16 with both halves: the tie goes to the smaller id 3; C = 8, U = 16 + unused 9 (8).
        "aji": 8 / 24, "aji-plus": 8 / 24,
        "dice": 1.0,
        # nucleus: Dice with half 3 (tie, smaller id) 2·8/(16+8); each half: Dice 2/3, weight 1/2.
        "adc": 2 / 3,
        # nucleus ↔ top half: bottom row 3 is 2 rows from row 1; each half ↔ nucleus likewise: 2.
        "ahd": 2.0,
        # IoU 0.5 is not above 0.5: TP 0, FP 2, FN 1.
        "pq": 0.0, "dq": 0.0, "sq": 0.0, "precision": 0.0, "recall": 0.0, "f1": 0.0,
    })


def test_merge_reuses_the_prediction_in_aji():
    # Two 2×4 nuclei (ids 1 top, 2 bottom) predicted as one 4×4 object (id 5).
    true = np.zeros((4, 4), int)
    true[:2], true[2:] = 1, 2
    pred = square((4, 4), 0, 0, 4, value=5)
    check(true, pred, {
        # AJI: both nuclei pick the prediction (IoU 8/16 each): C = 8 + 8, U = 16 + 16.
        "aji": 16 / 32,
        # AJI+: one-to-one, one nucleus paired (C 8, U 16), the other unpaired (+8).
        "aji-plus": 8 / 24,
        "dice": 1.0,
        # each nucleus: Dice 2·8/(8+16) = 2/3, weight 1/2; the prediction: with nucleus 1 (tie), 2/3.
        "adc": 2 / 3,
        "ahd": 2.0,                               # as the split, mirrored
        "pq": 0.0, "dq": 0.0, "sq": 0.0, "precision": 0.0, "recall": 0.0, "f1": 0.0,
    })
    assert aji_terms(true, pred) == (16, 32)
    assert aji_plus_terms(true, pred) == (8, 24)


def test_miss_and_false_positive():
    # 8×8 image. Nucleus A at (0,0) found exactly (id 4); nucleus B at (0,6) missed;
    # a false positive C at (6,0) (id 8). Every object is 2×2 (4 px).
    true = square((8, 8), 0, 0, 2, value=1)
    square((8, 8), 0, 6, 2, value=2, out=true)
    pred = square((8, 8), 0, 0, 2, value=4)
    square((8, 8), 6, 0, 2, value=8, out=pred)
    check(true, pred, {
        # C = 4; U = 4 (A) + 4 (B, unmatched) + 4 (C, unused) = 12.
        "aji": 4 / 12, "aji-plus": 4 / 12,
        "dice": 2 * 4 / (8 + 8),
        # each side: A↔4 Dice 1 with weight 1/2, the lonely object 0.
        "adc": 0.5,
        # A↔4: 0. B is nearest (Hausdorff) to 4: 6 columns apart, H = 6 (to C it is √72).
        # C is nearest to A: 6 rows apart, H = 6. Each side 1/2·0 + 1/2·6 = 3.
        "ahd": 3.0,
        # TP 1, FP 1, FN 1: DQ 1/(1 + 0.5 + 0.5), SQ 1.
        "pq": 0.5, "dq": 0.5, "sq": 1.0, "precision": 0.5, "recall": 0.5, "f1": 0.5,
    })


def test_aji_ties_go_to_the_smaller_prediction_id():
    # Nucleus of 6 px (row 0, cols 0-5). Prediction 5 covers cols 0-1: IoU 2/6.
    # Prediction 9 covers cols 2-4 and 3 px below: IoU 3/(6 + 6 - 3) = 3/9. A tie at 1/3.
    true = np.zeros((2, 6), int)
    true[0] = 1
    pred = np.zeros((2, 6), int)
    pred[0, 0:2] = 5
    pred[:, 2:5] = 9
    # MoNuSeg keeps the first maximum, id 5: C = 2, U = 6 + unused 9 (6 px) = 12.
    # (HoVer-Net's 1e-6 in the denominator would pick 9: 3 / (9 + 2).)
    assert aji(true, pred) == pytest.approx(2 / 12)


def test_empty_images():
    empty = np.zeros((5, 6), np.uint8)
    one = square((5, 6), 1, 1, 2)
    diagonal = math.hypot(4, 5)
    check(empty, empty, {"aji": 1, "aji-plus": 1, "adc": 1, "ahd": 0, "pq": 1, "dq": 1, "sq": 1,
                         "dice": 1, "precision": 1, "recall": 1, "f1": 1})
    nothing_found = {"aji": 0, "aji-plus": 0, "adc": 0, "ahd": diagonal, "pq": 0, "dq": 0, "sq": 0,
                     "dice": 0, "precision": 0, "recall": 0, "f1": 0}
    check(one, empty, nothing_found)   # empty prediction
    check(empty, one, nothing_found)   # empty ground truth


@pytest.mark.parametrize(("dtype", "offset"), [
    (np.uint8, 0), (np.uint8, 200), (np.int16, 1000), (np.uint32, 2**31 - 10), (np.int64, 2**40),
    (np.uint64, 2**50),
])
def test_non_contiguous_ids_and_dtypes_do_not_matter(dtype, offset):
    true = square((6, 7), 1, 1, 4)
    pred = square((6, 7), 1, 2, 4, value=7)
    true = np.where(true > 0, true.astype(np.uint64) + np.uint64(offset), 0).astype(dtype)
    pred = np.where(pred > 0, pred.astype(np.uint64) + np.uint64(offset // 2 + 3), 0).astype(dtype)
    assert aji(true, pred) == pytest.approx(0.6)
    assert pq(true, pred) == pytest.approx(0.6)
    assert ahd(true, pred) == 1.0


def test_thousands_of_objects_on_both_sides():
    # 64×64 with one object per pixel (4096 ids each side: the dense table would have 4097² cells).
    true = np.arange(1, 64 * 64 + 1).reshape(64, 64)
    pred = true[::-1].copy() * 3  # the same objects, other ids
    assert aji(true, pred) == 1.0
    assert pq(true, pred) == 1.0
    assert ahd(true, pred) == 0.0
