"""The shared overlap table: counting paths, matchings, and sharing it between metrics."""

from __future__ import annotations

import numpy as np
import pytest

import nucbench.overlap as overlap_module
from nucbench import Overlap
from nucbench.evaluate import load_metrics, score_image

from .conftest import perturb, random_labels


def test_table_by_hand():
    true = np.array([[1, 1, 0, 4],
                     [1, 1, 0, 4]])
    pred = np.array([[0, 9, 9, 9],
                     [0, 0, 0, 9]])
    ov = Overlap(true, pred)
    assert ov.true_ids.tolist() == [1, 4] and ov.true_areas.tolist() == [4, 2]
    assert ov.pred_ids.tolist() == [9] and ov.pred_areas.tolist() == [4]
    # pairs: (1, 9) meet in 1 pixel, (4, 9) in 2 pixels.
    assert ov.pair_true.tolist() == [0, 1] and ov.pair_pred.tolist() == [0, 0]
    assert ov.pair_intersection.tolist() == [1, 2]
    assert ov.pair_union.tolist() == [7, 4]  # 4 + 4 - 1, 2 + 4 - 2
    # best IoU per nucleus: 1/7 and 2/4; both pick prediction 9 (AJI may reuse it)
    assert ov.best_iou_pairs().tolist() == [0, 1]
    assert ov.largest_intersection_partner("pred").tolist() == [1]  # 9 meets nucleus 4 most
    assert ov.pairs_above(0.5).tolist() == []  # 2/4 is not above 0.5
    assert ov.optimal_pairs().tolist() == [1]


@pytest.mark.parametrize("seed", range(4))
def test_every_counting_path_gives_the_same_table(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    true = random_labels(rng)
    pred = perturb(rng, true)
    dense = Overlap(true, pred)
    compact = (dense.n_true + 1) * (dense.n_pred + 1)
    assert (true.max() + 1) * (pred.max() + 1) > compact  # pred ids are not contiguous
    # cap 0: compact the ids, then count only pixels foreground in both; cap `compact`: compact the
    # ids, then one dense bincount
    for cap in (0, compact):
        monkeypatch.setattr(overlap_module, "_DENSE_CAP", cap)
        other = Overlap(true, pred)
        for attr in ("true_ids", "true_areas", "pred_ids", "pred_areas", "pair_true", "pair_pred",
                     "pair_intersection"):
            np.testing.assert_array_equal(getattr(other, attr), getattr(dense, attr))


def test_of_reuses_only_the_shared_overlap_of_the_same_arrays():
    true = random_labels(np.random.default_rng(0))
    pred = true.copy()
    ov = Overlap(true, pred)
    assert Overlap.of(ov.true_labels, ov.pred_labels) is not ov
    with ov.shared():
        assert Overlap.of(ov.true_labels, ov.pred_labels) is ov
        assert Overlap.of(true, pred) is not ov  # other array objects: counted afresh
    assert Overlap.of(ov.true_labels, ov.pred_labels) is not ov


def test_labels_are_read_only_views():
    true = np.zeros((3, 3), int)
    ov = Overlap(true, true)
    with pytest.raises(ValueError, match="read-only"):
        ov.true_labels[0, 0] = 1
    true[0, 0] = 5  # the caller's array stays writable
    assert ov.true_labels[0, 0] == 5


def test_score_image_counts_the_table_once(monkeypatch, full_manager):
    calls = []
    original = overlap_module._count
    monkeypatch.setattr(overlap_module, "_count", lambda t, p: calls.append(1) or original(t, p))
    rng = np.random.default_rng(5)
    true = random_labels(rng)
    metrics = load_metrics(manager=full_manager)
    values = score_image(true, perturb(rng, true), metrics)
    assert set(values) == set(metrics) and len(calls) == 1
