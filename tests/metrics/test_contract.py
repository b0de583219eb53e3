"""The same checks for every registered metric (built-in or installed), through the registry."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from nucbench import InputError
from nucbench.plugins import PluginManager

from .conftest import perturb, random_labels, square

METRICS = PluginManager().registries.metric.names()


@pytest.fixture(params=METRICS)
def metric(request, full_manager):
    entry = full_manager.registries.metric.get(request.param)
    return entry, full_manager.create("metric", request.param)


def perfect(entry) -> float:
    return 1.0 if entry.metadata["higher_is_better"] else 0.0


def test_builtins_are_all_registered():
    builtins = {"aji", "aji-plus", "adc", "ahd", "pq", "dq", "sq", "dice", "precision", "recall", "f1"}
    assert builtins <= set(METRICS)


def test_metadata(metric):
    entry, _ = metric
    assert isinstance(entry.metadata["higher_is_better"], bool)
    assert entry.metadata["aggregation"] == "mean"
    assert entry.metadata["reference"]
    assert entry.description.endswith(".")


@pytest.mark.parametrize("labels", [
    square((9, 9), 2, 3, 4),
    np.zeros((5, 4), np.uint16),
    random_labels(np.random.default_rng(0)),
], ids=["one-square", "empty", "random"])
def test_identical_labels_score_perfectly(metric, labels):
    entry, fn = metric
    value = fn(labels, labels.copy())
    assert isinstance(value, float)
    assert value == pytest.approx(perfect(entry), abs=1e-12)


def test_values_are_finite_and_in_range(metric):
    entry, fn = metric
    rng = np.random.default_rng(1)
    for _ in range(3):
        true = random_labels(rng)
        value = fn(true, perturb(rng, true))
        assert np.isfinite(value)
        if entry.metadata["higher_is_better"]:
            assert 0.0 <= value <= 1.0


def test_shape_mismatch_is_an_input_error(metric):
    _, fn = metric
    with pytest.raises(InputError, match=r"`pred_labels` \(shape \(4, 5\)\) must have the same shape"):
        fn(np.zeros((4, 4), int), np.zeros((4, 5), int))


@pytest.mark.parametrize("bad", [np.zeros((4, 4)), np.zeros((4, 4), bool), np.zeros((2, 4, 4), int),
                                 -np.ones((4, 4), int)], ids=["float", "bool", "3-D", "negative"])
def test_bad_labels_are_input_errors(metric, bad):
    _, fn = metric
    good = np.zeros(bad.shape, int)
    for args in ((bad, good), (good, bad)):
        with pytest.raises(InputError, match="true_labels|pred_labels"):
            fn(*args)


def test_pooled_terms_reproduce_the_value(metric):
    entry, fn = metric
    ref = entry.metadata.get("pooled_terms")
    if ref is None:
        assert entry.name not in ("aji", "aji-plus", "dice")
        return
    module, _, name = ref.partition(":")
    terms = getattr(importlib.import_module(module), name)
    true = random_labels(np.random.default_rng(2))
    pred = perturb(np.random.default_rng(3), true)
    numerator, denominator = terms(true, pred)
    assert numerator / denominator == pytest.approx(fn(true, pred), abs=1e-15)
