"""Executors: every item reported, failures retried then reported with their item, others unharmed."""

from __future__ import annotations

import functools
import operator
import time

import pytest

import nucbench
from nucbench.errors import InputError

from .helpers import free_port

#: 1 / x, importable by Dask workers (a function of this test module would not be).
reciprocal = functools.partial(operator.truediv, 1)


def test_local_retries_then_reports_and_goes_on():
    calls = {"flaky": 0}

    def fn(item):
        if item == "flaky":
            calls["flaky"] += 1
            if calls["flaky"] == 1:
                raise OSError("transient")
        if item == "bad":
            raise ValueError("bad input")
        return item.upper()

    executor = nucbench.create("executor", "local", retries=1)
    outcomes = list(executor.imap(fn, ["a", "flaky", "bad", "b"]))
    assert [(o.index, o.value) for o in outcomes] == [(0, "A"), (1, "FLAKY"), (2, None), (3, "B")]
    assert calls["flaky"] == 2  # failed once, retried once
    assert outcomes[2].error.startswith("ValueError: bad input\n") and not outcomes[2].ok
    assert "Traceback" in outcomes[2].error


def test_dask_local_cluster_reports_a_failing_task_with_its_item():
    executor = nucbench.create("executor", "dask", n_workers=2, threads_per_worker=1, retries=1)
    try:
        outcomes = sorted(executor.imap(reciprocal, [1, 0, 4]), key=lambda o: o.index)
        assert [o.value for o in outcomes] == [1.0, None, 0.25]
        assert outcomes[1].error.startswith("ZeroDivisionError: division by zero")
        assert executor.map(reciprocal, [2, 5]) == [0.5, 0.2]
        assert len(executor.client.scheduler_info()["workers"]) == 2
    finally:
        executor.close()


def test_dask_unreachable_scheduler_fails_at_once():
    address = f"tcp://127.0.0.1:{free_port()}"
    start = time.monotonic()
    with pytest.raises(InputError, match=rf"scheduler {address}: cannot connect \(.*\)\. Start one with"):
        nucbench.create("executor", "dask", address=address)
    assert time.monotonic() - start < 2.0


def test_dask_bad_address_is_explained():
    with pytest.raises(InputError, match=r"scheduler tcp://nohost: expected an address like tcp://HOST:PORT"):
        nucbench.create("executor", "dask", address="tcp://nohost")

