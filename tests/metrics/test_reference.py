"""The fast metrics against the slow per-object reference implementations, on random cases."""

from __future__ import annotations

import numpy as np
import pytest
from nucbench_metrics import reference as ref
from nucbench_metrics._hausdorff import ObjectRuns, pair_hausdorff_sq
from nucbench_metrics.aji import aji, aji_plus
from nucbench_metrics.glas import adc, ahd
from nucbench_metrics.matching import dq, f1, pq, precision, recall, sq
from nucbench_metrics.pixel import dice

from nucbench import Overlap

from .conftest import perturb, random_labels


@pytest.mark.parametrize("seed", range(12))
def test_fast_metrics_equal_the_reference(seed):
    rng = np.random.default_rng(seed)
    true = random_labels(rng, n=int(rng.integers(1, 12)))
    pred = perturb(rng, true)
    got = [aji(true, pred), aji_plus(true, pred), dq(true, pred), sq(true, pred), pq(true, pred),
           precision(true, pred), recall(true, pred), f1(true, pred), dice(true, pred),
           adc(true, pred), ahd(true, pred)]
    expected = [ref.reference_aji(true, pred), ref.reference_aji_plus(true, pred),
                *ref.reference_pq(true, pred), *ref.reference_detection(true, pred),
                ref.reference_dice(true, pred), ref.reference_object_dice(true, pred),
                ref.reference_object_hausdorff(true, pred)]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def brute_force_hausdorff(a: np.ndarray, b: np.ndarray) -> float:
    pa, pb = np.argwhere(a), np.argwhere(b)
    d = np.sqrt(((pa[:, None, :] - pb[None, :, :]) ** 2).sum(-1))
    return max(d.min(1).max(), d.min(0).max())


def test_hausdorff_is_exact_where_the_farthest_pixel_is_inside_the_object():
    # A plus sign and two separate pixels of one object at (-1, 2) and (2, -1) from its centre:
    # the centre is at √5 from both, while every arm tip is within 2 of one of them.
    true = np.zeros((7, 7), int)
    true[3, 2:5] = true[2:5, 3] = 1
    pred = np.zeros((7, 7), int)
    pred[2, 5] = pred[5, 2] = 1
    ov = Overlap(true, pred)
    d2 = pair_hausdorff_sq(ObjectRuns(true, ov.true_ids), ObjectRuns(pred, ov.pred_ids),
                           np.array([0]), np.array([0]))
    assert d2.tolist() == [5]  # directed plus → pair: centre (3,3) to (2,5) is 1 + 4
    assert np.sqrt(d2[0]) == pytest.approx(brute_force_hausdorff(true == 1, pred == 1))


def test_hausdorff_of_random_shapes_equals_brute_force():
    # One to three ellipses per object: simple objects (one run per row) and not, overlapping,
    # side by side, one above the other, nested.
    rng = np.random.default_rng(7)
    tested = 0
    while tested < 80:
        a = random_labels(rng, (24, 24), n=int(rng.integers(1, 4))) > 0
        b = random_labels(rng, (24, 24), n=int(rng.integers(1, 4))) > 0
        if not (a.any() and b.any()):
            continue
        true, pred = a.astype(int), b.astype(int) * 4
        ov = Overlap(true, pred)
        runs_true, runs_pred = ObjectRuns(true, ov.true_ids), ObjectRuns(pred, ov.pred_ids)
        d2 = pair_hausdorff_sq(runs_true, runs_pred, np.array([0]), np.array([0]))
        assert np.sqrt(d2[0]) == pytest.approx(brute_force_hausdorff(a, b), abs=1e-12)
        tested += 1
