"""Fixtures for the suite tests: a plugin file, suite files, MLflow stores, servers on loopback."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from nucbench.cli import main

from .helpers import BIN, PLUGIN, free_port, http_ok, stop, wait_until


def suite_dict(**overrides) -> dict:
    """A tiny suite: 3 synthetic images, two methods (perfect and empty), two seeds."""
    suite = {
        "name": "tiny",
        "plugins": [str(PLUGIN)],
        "datasets": [{"name": "disks", "params": {"n_images": 3}}],
        "methods": [
            {"segmenter": "dark-blobs"},
            {"label": "strict", "segmenter": {"name": "dark-blobs", "params": {"threshold": 20}}},
        ],
        "seeds": [0, 1],
        "metrics": ["aji", "dice"],
    }
    suite.update(overrides)
    return suite


@pytest.fixture
def write_suite(tmp_path: Path) -> Callable[..., Path]:
    """``write_suite(**overrides)`` writes ``tmp_path/suite.yaml`` and returns its path."""

    def write(**overrides) -> Path:
        path = tmp_path / "suite.yaml"
        path.write_text(yaml.safe_dump(suite_dict(**overrides), sort_keys=False))
        return path

    return write


@pytest.fixture(scope="session")
def _empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite store with its tables created (creating them takes seconds; copying does not)."""
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("store") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def store(tmp_path: Path, _empty_store: Path) -> str:
    """URI of a fresh SQLite MLflow store in `tmp_path` (``mlflow.db``, as the default would be)."""
    path = tmp_path / "mlflow.db"
    shutil.copyfile(_empty_store, path)
    return f"sqlite:///{path}"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., int]:
    """``cli("run", ...)``: the nucbench CLI in this process, in `tmp_path`, without MLFLOW_TRACKING_URI."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return lambda *argv: main([str(a) for a in argv])


@pytest.fixture
def mlflow_server(tmp_path: Path, _empty_store: Path) -> Iterator[str]:
    """A real ``mlflow server`` on 127.0.0.1 (a free port), backed by SQLite in `tmp_path`; its URI."""
    folder = tmp_path / "server"
    folder.mkdir()
    shutil.copyfile(_empty_store, folder / "mlflow.db")
    port = free_port()
    log = open(folder / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(BIN / "mlflow"), "server", "--workers", "1", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
         "--artifacts-destination", str(folder / "artifacts")],
        cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(uri + "/health"), 60, "mlflow server", proc)
        yield uri
    finally:
        stop(proc)
        log.close()


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[str]:
    """A real ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1; the scheduler address."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = []
    log = open(tmp_path / "dask.log", "w")  # noqa: SIM115 - closed below
    common = dict(cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        procs.append(subprocess.Popen(
            [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
             "--no-dashboard"], **common))
        procs.append(subprocess.Popen(
            [str(BIN / "dask"), "worker", address, "--nworkers", "2", "--nthreads", "1",
             "--host", "127.0.0.1", "--no-dashboard", "--local-directory", str(tmp_path / "dask-worker")],
            **common))
        from distributed import Client

        def two_workers() -> bool:
            try:
                with Client(address, timeout=1) as client:
                    return len(client.scheduler_info()["workers"]) == 2
            except OSError:
                return False

        wait_until(two_workers, 60, "dask scheduler and workers", procs[0])
        yield address
    finally:
        for proc in reversed(procs):
            stop(proc)
        log.close()
