"""The ``mlflow`` tracker: one parent run per suite, one child run per (method, dataset, seed).

Where runs go: the ``uri`` parameter (``--tracking-uri``), else ``MLFLOW_TRACKING_URI``, else an
embedded SQLite store ``sqlite:///<working folder>/mlflow.db`` whose artifacts go to ``mlruns/``
beside it. The experiment is the suite's name unless ``experiment`` names another.

Every child carries the tags ``nucbench.suite``, ``nucbench.suite_version``, ``nucbench.method``,
``nucbench.dataset``, ``nucbench.seed``, ``nucbench.config_hash`` (and ``nucbench.role`` = ``run``;
the parent has ``suite``), its resolved configuration as flattened params and as
``config.json``, mean metrics, ``time/*`` timings, the per-image metrics table
``per_image_metrics.json`` and overlay images under ``overlays/``.

Resuming: a child is created only when its run is complete, so a finished child is a complete
result, and the suite skips its config hash next time. A child left RUNNING by a killed process
is marked KILLED when the suite is opened again, and its run is redone, as is a FAILED one (the
FAILED child stays, as the record of the failure). ``--rerun`` soft-deletes the earlier finished
child of a run once its replacement has finished (restore it from the MLflow UI's trash). Two
processes must not run the same suite against the same store at the same time.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nucbench.errors import InputError
from nucbench.tracking import (
    PER_IMAGE_TABLE,
    TAG_CONFIG_HASH,
    TAG_DATASET,
    TAG_ERROR,
    TAG_METHOD,
    TAG_ROLE,
    TAG_SEED,
    TAG_SUITE,
    TAG_SUITE_VERSION,
    RunRecord,
    RunResult,
    flatten_params,
)

_MAX_PARAM_VALUE = 6000
_PARAMS_PER_BATCH = 100


def default_uri() -> str:
    """``MLFLOW_TRACKING_URI`` if set, else ``sqlite:///<cwd>/mlflow.db``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def _sqlite_path(uri: str) -> Path | None:
    return Path(uri[len("sqlite:///"):]) if uri.startswith("sqlite:///") else None


class _RunFailed(Exception):
    """Raised inside a child's ``with`` block so that MLflow marks the child FAILED."""


class MlflowTracker:
    """Record suites in MLflow: a parent run per suite, a child run per run.

    Parameters
    ----------
    uri : str, optional
        Tracking URI: ``http://host:port`` (an ``mlflow server``), ``sqlite:///path.db``,
        ``postgresql://...``. Default: ``MLFLOW_TRACKING_URI``, else ``sqlite:///<cwd>/mlflow.db``.
    experiment : str, optional
        MLflow experiment; default: the suite's name.
    timeout_s : float, optional
        How long :meth:`check` waits for a server before giving up (default 5 s).
    """

    def __init__(self, uri: str | None = None, experiment: str | None = None, timeout_s: float = 5.0) -> None:
        self.uri = uri or default_uri()
        self.experiment = experiment
        self.timeout_s = timeout_s
        self._client: Any = None

    # -- reaching the store -------------------------------------------------------------------

    def location(self) -> str:
        """The tracking URI, with the artifact folder for an embedded SQLite store."""
        db = _sqlite_path(self.uri)
        if db is None:
            return f"{self.uri} (MLflow server or database)"
        return (f"{self.uri} (artifacts in {db.parent / 'mlruns'}); "
                f"view: mlflow ui --backend-store-uri {self.uri}")

    def check(self) -> None:
        """Fail at once with a clear message if the store cannot be reached.

        Raises
        ------
        InputError
            For a server that does not answer ``/health`` within ``timeout_s``, a SQLite file in
            a folder that does not exist, or a database that cannot be opened.
        """
        if self.uri.startswith(("http://", "https://")):
            url = self.uri.rstrip("/") + "/health"
            try:
                with urllib.request.urlopen(url, timeout=self.timeout_s) as response:
                    ok = response.status == 200
            except (urllib.error.URLError, OSError, ValueError) as exc:
                reason = getattr(exc, "reason", exc)
                raise InputError(
                    f"tracking URI {self.uri}: no MLflow server answers ({reason}). Start one "
                    "(mlflow server --host 127.0.0.1 --port 5000) or pass another --tracking-uri"
                ) from None
            if not ok:
                raise InputError(f"tracking URI {self.uri}: {url} answered {response.status}, not 200")
            return
        db = _sqlite_path(self.uri)
        if db is not None and not db.parent.is_dir():
            raise InputError(f"tracking URI {self.uri}: folder {db.parent} does not exist")
        try:
            self.client.search_experiments(max_results=1)
        except Exception as exc:  # any driver or schema error: report it, the store is unusable
            raise InputError(f"tracking URI {self.uri}: cannot open the store: {type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}") from None

    @property
    def client(self) -> Any:
        """An :class:`mlflow.MlflowClient` on :attr:`uri` (created on first use)."""
        if self._client is None:
            from mlflow import MlflowClient

            for name in ("mlflow", "alembic"):  # after importing mlflow, which sets them to INFO
                logging.getLogger(name).setLevel(logging.WARNING)
            self._client = MlflowClient(self.uri)
        return self._client

    def _experiment_name(self, suite: str) -> str:
        return self.experiment or suite

    def _experiment_id(self, suite: str, *, create: bool) -> str | None:
        name = self._experiment_name(suite)
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            if experiment.lifecycle_stage == "deleted":
                self.client.restore_experiment(experiment.experiment_id)
            return experiment.experiment_id
        if not create:
            return None
        db = _sqlite_path(self.uri)
        location = None
        if db is not None:
            from nucbench.suite import slug

            location = (db.parent / "mlruns" / slug(name)).as_uri()
        return self.client.create_experiment(name, artifact_location=location, tags={TAG_SUITE: suite})

    def _search(self, experiment_id: str, filter_string: str) -> list[Any]:
        from mlflow.entities import ViewType

        found, token = [], None
        while True:
            page = self.client.search_runs(
                [experiment_id], filter_string=filter_string, run_view_type=ViewType.ACTIVE_ONLY,
                max_results=1000, order_by=["attributes.start_time DESC"], page_token=token,
            )
            found.extend(page)
            token = page.token
            if not token:
                return found

    # -- reading ------------------------------------------------------------------------------

    def runs(self, suite: str) -> list[RunRecord]:
        """Every child run in the suite's experiment, newest first."""
        experiment_id = self._experiment_id(suite, create=False)
        if experiment_id is None:
            return []
        records = []
        for run in self._search(experiment_id, f"tags.`{TAG_ROLE}` = 'run'"):
            tags = run.data.tags
            try:
                seed = int(tags.get(TAG_SEED, "0"))
            except ValueError:
                seed = 0
            records.append(RunRecord(
                run.info.run_id, tags.get(TAG_CONFIG_HASH, ""), tags.get(TAG_METHOD, "?"),
                tags.get(TAG_DATASET, "?"), seed, run.info.status, dict(run.data.metrics),
                run.info.end_time,
            ))
        return records

    def _parent(self, experiment_id: str) -> Any | None:
        parents = self._search(experiment_id, f"tags.`{TAG_ROLE}` = 'suite'")
        return parents[0] if parents else None

    # -- writing ------------------------------------------------------------------------------

    @contextmanager
    def open_suite(self, suite: str, *, version: str, config: Mapping[str, Any]) -> Iterator[_MlflowSuiteLog]:
        """Start (or resume) the suite's parent run; child runs are logged under it.

        Children left RUNNING by a killed earlier process are marked KILLED first.
        """
        import mlflow

        mlflow.set_tracking_uri(self.uri)
        experiment_id = self._experiment_id(suite, create=True)
        running = f"tags.`{TAG_ROLE}` = 'run' and attributes.status = 'RUNNING'"
        for stale in self._search(experiment_id, running):
            self.client.set_terminated(stale.info.run_id, "KILLED")
        parent = self._parent(experiment_id)
        tags = {TAG_ROLE: "suite", TAG_SUITE: suite, TAG_SUITE_VERSION: version}
        with mlflow.start_run(
            run_id=parent.info.run_id if parent else None,
            experiment_id=experiment_id,
            run_name=None if parent else suite,
            tags=tags,
        ) as run:
            log = _MlflowSuiteLog(self.client, run.info.run_id, experiment_id, suite, version)
            if parent is None:
                _log_batch(self.client, run.info.run_id, flatten_params({"suite": config}), {})
            mlflow.log_dict(dict(config), "suite.json")
            yield log
            if log.failure:
                mlflow.set_tag(TAG_ERROR, log.failure)
                mlflow.end_run("FAILED")

    def log_comparison(self, suite: str, files: Mapping[str, bytes]) -> str | None:
        """Attach comparison files to the suite's parent run; its id (``None`` if there is none)."""
        experiment_id = self._experiment_id(suite, create=False)
        parent = self._parent(experiment_id) if experiment_id else None
        if parent is None:
            return None
        with tempfile.TemporaryDirectory() as tmp:
            _write(Path(tmp), files)
            self.client.log_artifacts(parent.info.run_id, tmp)
        return parent.info.run_id


class _MlflowSuiteLog:
    """The open parent run of a suite; logs each run as a child run under it."""

    def __init__(self, client: Any, parent_id: str, experiment_id: str, suite: str, version: str) -> None:
        self.client = client
        self.parent_id = parent_id
        self.experiment_id = experiment_id
        self.suite = suite
        self.version = version
        self.failure: str | None = None

    def log_run(self, result: RunResult) -> str:
        """Log `result` as a child run (FINISHED, or FAILED with the error); return its id."""
        import mlflow

        run_id = ""
        try:
            with mlflow.start_run(
                experiment_id=self.experiment_id,
                run_name=f"{result.method} / {result.dataset} / seed {result.seed}",
                parent_run_id=self.parent_id,
                nested=True,
                tags=result.tags(self.suite, self.version),
            ) as run:
                run_id = run.info.run_id
                metrics = {**result.metrics, **{f"time/{k}": v for k, v in result.timings.items()}}
                _log_batch(self.client, run_id, flatten_params(result.config), metrics)
                files = {"config.json": json.dumps(result.config, indent=2).encode(), **result.overlays}
                if not result.ok:
                    files["error.txt"] = (result.error or "").encode()
                with tempfile.TemporaryDirectory() as tmp:
                    _write(Path(tmp), files)
                    mlflow.log_artifacts(tmp)
                if not result.ok:
                    mlflow.set_tag(TAG_ERROR, (result.error or "")[:2000])
                    raise _RunFailed
                _log_table(result.per_image)
        except _RunFailed:
            pass
        return run_id

    def retire(self, run_ids: Sequence[str]) -> None:
        """Soft-delete earlier children of a redone run (restorable from the MLflow UI)."""
        for run_id in run_ids:
            self.client.delete_run(run_id)

    def log_files(self, files: Mapping[str, bytes]) -> None:
        """Attach `files` to the parent run (same names overwrite)."""
        import mlflow

        with tempfile.TemporaryDirectory() as tmp:
            _write(Path(tmp), files)
            mlflow.log_artifacts(tmp, run_id=self.parent_id)

    def mark_failed(self, reason: str) -> None:
        """End the parent as FAILED, with `reason` as its ``nucbench.error`` tag."""
        self.failure = reason


def _log_batch(client: Any, run_id: str, params: Mapping[str, str], metrics: Mapping[str, float]) -> None:
    """Params (keys ≤ 250, values ≤ 6000 characters) and metrics in as few requests as MLflow allows."""
    from mlflow.entities import Metric, Param

    now = int(time.time() * 1000)
    items = [Param(k[:250], v[:_MAX_PARAM_VALUE]) for k, v in params.items()]
    values = [Metric(k, float(v), now, 0) for k, v in metrics.items()]
    for start in range(0, max(len(items), 1), _PARAMS_PER_BATCH):
        client.log_batch(run_id, params=items[start:start + _PARAMS_PER_BATCH],
                         metrics=values if start == 0 else [])


def _log_table(rows: list[dict[str, Any]]) -> None:
    import mlflow
    import pandas as pd

    mlflow.log_table(pd.DataFrame(rows), artifact_file=PER_IMAGE_TABLE)


def _write(folder: Path, files: Mapping[str, bytes]) -> None:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
