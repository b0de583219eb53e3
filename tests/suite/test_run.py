"""``nucbench run`` / ``compare`` end to end on a real MLflow SQLite store (in-process CLI).

The tiny suite (see conftest): 3 images of 1, 2, 3 dark disks; ``dark-blobs`` (threshold 128)
finds every disk exactly, so AJI = Dice = 1; ``strict`` (threshold 20) finds nothing, so
AJI = Dice = 0 (AJI: intersection 0 over the union of the ground truth; Dice: 2·0 / |GT|).
Two seeds each: 4 runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
from mlflow import MlflowClient
from mlflow.entities import ViewType

from .helpers import BIN, free_port, wait_until


def _children(uri, experiment="tiny", view=ViewType.ACTIVE_ONLY):
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return []
    return client.search_runs([exp.experiment_id], "tags.`nucbench.role` = 'run'", run_view_type=view)


def _table(uri, run_id, name="per_image_metrics.json"):
    """Rows of a table artifact (MLflow's log_table JSON: columns + data) as dicts."""
    with open(MlflowClient(uri).download_artifacts(run_id, name)) as handle:
        table = json.load(handle)
    return [dict(zip(table["columns"], row, strict=True)) for row in table["data"]]


def _workers(uri):
    """``host:pid`` of every process that ran an image job of the suite."""
    return {row["worker"] for child in _children(uri) for row in _table(uri, child.info.run_id)}


def _parents(uri, experiment="tiny"):
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], "tags.`nucbench.role` = 'suite'") if exp else []


def test_run_records_a_parent_and_a_child_per_run(cli, write_suite, store, tmp_path, capsys):
    assert cli("run", write_suite()) == 0  # default store: sqlite:///<cwd>/mlflow.db
    out = capsys.readouterr().out
    assert "suite 'tiny': 4 runs: 4 run now, 0 already done, 0 failed" in out
    assert f"tracking: {store} (artifacts in {tmp_path / 'mlruns'})" in out
    assert "dark-blobs  disks    2      1.0000 ± 0.0000 *  1.0000 ± 0.0000 *" in out

    client = MlflowClient(store)
    (parent,) = _parents(store)
    children = _children(store)
    assert len(children) == 4
    assert parent.info.status == "FINISHED"
    by_name = {c.info.run_name: c for c in children}
    child = by_name["strict / disks / seed 1"]
    tags = child.data.tags
    assert tags["mlflow.parentRunId"] == parent.info.run_id
    assert {k: tags[k] for k in ("nucbench.suite", "nucbench.method", "nucbench.dataset", "nucbench.seed",
                                 "nucbench.suite_version")} == {
        "nucbench.suite": "tiny", "nucbench.method": "strict", "nucbench.dataset": "disks",
        "nucbench.seed": "1", "nucbench.suite_version": "1"}
    assert len(tags["nucbench.config_hash"]) == 16
    assert child.data.metrics["aji"] == 0.0 and child.data.metrics["dice"] == 0.0
    # pooled over the 3 images: AJI = Σ intersections / Σ unions = 0 / (area of 6 disks) = 0
    assert child.data.metrics["pooled/aji"] == 0.0
    assert by_name["dark-blobs / disks / seed 0"].data.metrics["pooled/aji"] == 1.0
    assert by_name["dark-blobs / disks / seed 0"].data.metrics["aji"] == 1.0
    assert child.data.metrics["time/segment_s_mean"] >= 0
    assert child.data.params["method.params.threshold"] == "20.0"
    assert child.data.params["dataset.params.n_images"] == "3"

    run_id = child.info.run_id
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert artifacts == {"config.json", "overlays", "per_image_metrics.json"}
    assert {a.path for a in client.list_artifacts(run_id, "overlays")} == {
        "overlays/disk-0.png", "overlays/disk-1.png"}  # the suite's default: 2 overlays a run
    rows = _table(store, run_id)
    assert [r["image"] for r in rows] == ["disk-0", "disk-1", "disk-2"]
    assert [r["n_pred"] for r in rows] == [0, 0, 0]
    with open(client.download_artifacts(run_id, "config.json")) as handle:
        config = json.load(handle)
    assert config["method"]["params"] == {"threshold": 20.0, "seed": 1, "fail_on_count": None}

    parent_files = {a.path for a in client.list_artifacts(parent.info.run_id)}
    expected = {"comparison.md", "comparison.csv", "comparison.txt", "comparison.png", "suite.json"}
    assert expected <= parent_files
    assert (tmp_path / "out" / "tiny" / "comparison.png").read_bytes()[:4] == b"\x89PNG"


def test_rerunning_skips_done_runs_and_rerun_replaces_them(cli, write_suite, store, capsys):
    path = write_suite()
    assert cli("run", path) == 0
    first = {c.data.tags["nucbench.config_hash"]: c.info.run_id for c in _children(store)}
    capsys.readouterr()

    assert cli("run", path, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "4 runs, 4 done, 0 to run" in out and out.count("done (run ") == 4

    assert cli("run", path) == 0
    assert "0 run now, 4 already done" in capsys.readouterr().out
    assert {c.data.tags["nucbench.config_hash"]: c.info.run_id for c in _children(store)} == first
    assert len(_parents(store)) == 1

    assert cli("run", path, "--rerun") == 0
    assert "4 run now, 0 already done" in capsys.readouterr().out
    now = {c.data.tags["nucbench.config_hash"]: c.info.run_id for c in _children(store)}
    assert now.keys() == first.keys() and not set(now.values()) & set(first.values())
    deleted = _children(store, view=ViewType.DELETED_ONLY)
    assert {c.info.run_id for c in deleted} == set(first.values())  # soft-deleted, restorable
    assert len(_parents(store)) == 1


def test_a_failing_image_fails_its_runs_only(cli, write_suite, store, capsys):
    path = write_suite(datasets=["disks", {"name": "disks", "label": "broken", "params": {"broken": 1}}],
                       seeds=[0])
    assert cli("run", path) == 1
    captured = capsys.readouterr()
    assert "2 run now, 0 already done, 2 failed" in captured.out
    assert ("FAILED: method 'dark-blobs' on dataset 'broken' (seed 0): 1 of 3 images failed; first: "
            "image #1: InputError: disk-1.png: cannot read (broken on purpose)") in captured.err
    status = {(c.data.tags["nucbench.method"], c.data.tags["nucbench.dataset"]): c for c in _children(store)}
    assert {k: c.info.status for k, c in status.items()} == {
        ("dark-blobs", "disks"): "FINISHED", ("strict", "disks"): "FINISHED",
        ("dark-blobs", "broken"): "FAILED", ("strict", "broken"): "FAILED"}
    assert "disk-1.png" in status[("strict", "broken")].data.tags["nucbench.error"]
    assert _parents(store)[0].info.status == "FAILED"
    assert "dark-blobs  disks" in captured.out  # the finished runs are still compared

    # Next time only the failed runs are tried again.
    assert cli("run", path) == 1
    assert "0 run now, 2 already done, 2 failed" in capsys.readouterr().out


def test_a_child_left_running_is_marked_killed_and_redone(cli, write_suite, store, capsys):
    path = write_suite(seeds=[0])
    assert cli("run", path) == 0
    client = MlflowClient(store)
    dead = _children(store)[0]
    client.update_run(dead.info.run_id, status="RUNNING")  # as if its process had been killed
    capsys.readouterr()
    assert cli("run", path) == 0
    assert "1 run now, 1 already done" in capsys.readouterr().out
    statuses = sorted(c.info.status for c in _children(store))
    assert statuses == ["FINISHED", "FINISHED", "KILLED"]
    assert client.get_run(dead.info.run_id).info.status == "KILLED"


def test_killed_midway_then_resumed_runs_only_the_missing_runs(cli, write_suite, store, tmp_path, capsys):
    path = write_suite(methods=[{"segmenter": "dark-blobs"}], seeds=[0, 1, 2])
    marker = tmp_path / "hanging"
    env = {**os.environ, "NUCBENCH_TEST_HANG": f"2:{marker}"}
    env.pop("MLFLOW_TRACKING_URI", None)
    proc = subprocess.Popen([str(BIN / "nucbench"), "run", str(path)], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(marker.exists, 60, "suite reaching its third run", proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done = _children(store)
    assert sorted(c.data.tags["nucbench.seed"] for c in done) == ["0", "1"]
    assert all(c.info.status == "FINISHED" for c in done)

    assert cli("run", path) == 0
    assert "1 run now, 2 already done" in capsys.readouterr().out
    children = _children(store)
    assert sorted(c.data.tags["nucbench.seed"] for c in children) == ["0", "1", "2"]  # no duplicate
    assert {c.info.run_id for c in done} <= {c.info.run_id for c in children}
    assert len(_parents(store)) == 1


def test_unreachable_tracking_uri_fails_before_any_work(cli, write_suite, tmp_path, capsys):
    uri = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    assert cli("run", write_suite(), "--tracking-uri", uri) == 2
    err = capsys.readouterr().err
    assert time.monotonic() - start < 10
    assert err.startswith(f"nucbench: error: tracking URI {uri}: no MLflow server answers (")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() and not (tmp_path / "mlflow.db").exists()


def test_unreachable_scheduler_fails_before_any_work(cli, write_suite, store, tmp_path, capsys):
    address = f"tcp://127.0.0.1:{free_port()}"
    path = write_suite()
    assert cli("run", path, "--scheduler", address) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nucbench: error: {path}: executor: scheduler {address}: cannot connect")
    assert MlflowClient(store).get_experiment_by_name("tiny") is None  # no parent run was started
    assert not (tmp_path / "out").exists()


def test_local_cluster_runs_the_suite_on_worker_processes(cli, write_suite, store, capsys):
    assert cli("run", write_suite(seeds=[0]), "--executor", "dask", "--workers", "2") == 0
    assert "2 run now" in capsys.readouterr().out
    children = _children(store)
    assert sorted(c.data.metrics["aji"] for c in children) == [0.0, 1.0]
    workers = _workers(store)
    assert workers and not any(w.endswith(f":{os.getpid()}") for w in workers)


def test_compare_by_suite_and_by_experiment(cli, write_suite, store, tmp_path, capsys):
    path = write_suite()
    assert cli("run", path) == 0
    capsys.readouterr()
    assert cli("compare", path, "--format", "markdown") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "| method | dataset | seeds | aji ↑ | dice ↑ | s/image |"
    assert "| strict | disks | 2 | 0.0000 ± 0.0000 | 0.0000 ± 0.0000 |" in out
    assert cli("compare", "tiny", "--format", "csv", "--metric", "aji", "--out", tmp_path / "c") == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == "method,dataset,n_seeds,aji_mean,aji_std,seconds_per_image"
    assert "attached to parent run" in captured.err
    assert (tmp_path / "c" / "comparison.md").is_file()
    assert cli("compare", "nosuch") == 2
    assert "no finished runs of 'nosuch'" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--executor", "local", "--workers", "2"]])
def test_cluster_options_need_the_dask_executor(cli, write_suite, store, argv, capsys):
    assert cli("run", write_suite(), *argv) == 2
    assert "need --executor dask" in capsys.readouterr().err


def test_mlflow_server_on_loopback(cli, write_suite, mlflow_server, tmp_path, capsys):
    from PIL import Image

    from nucbench.data import write_label_image

    from .suite_plugin import Disks

    folder = tmp_path / "folder-data"
    for i in range(2):
        sample = Disks()[i]
        (folder / "images").mkdir(parents=True, exist_ok=True)
        Image.fromarray(sample.image).save(folder / "images" / f"tile-{i}.png")
        write_label_image(folder / "masks" / f"tile-{i}.png", sample.labels)
    tiles = {"name": "folder", "label": "tiles", "params": {"root": str(folder), "mpp": 0.25}}
    path = write_suite(datasets=[tiles], seeds=[0])
    assert cli("run", path, "--tracking-uri", mlflow_server) == 0
    assert f"tracking: {mlflow_server}" in capsys.readouterr().out
    client = MlflowClient(mlflow_server)
    children = _children(mlflow_server)
    assert sorted((c.data.tags["nucbench.method"], c.data.metrics["aji"]) for c in children) == [
        ("dark-blobs", 1.0), ("strict", 0.0)]
    (parent,) = _parents(mlflow_server)
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    run_id = children[0].info.run_id
    assert {a.path for a in client.list_artifacts(run_id, "overlays")} == {
        "overlays/tile-0.png", "overlays/tile-1.png"}
    assert cli("run", path, "--tracking-uri", mlflow_server) == 0
    assert "0 run now, 2 already done" in capsys.readouterr().out


def test_dask_scheduler_and_worker_processes_on_loopback(cli, write_suite, store, dask_cluster, capsys):
    assert cli("run", write_suite(), "--scheduler", dask_cluster) == 0
    assert "4 run now" in capsys.readouterr().out
    children = _children(store)
    assert sorted(c.data.metrics["dice"] for c in children) == [0.0, 0.0, 1.0, 1.0]
    assert not any(w.endswith(f":{os.getpid()}") for w in _workers(store))


def test_methods_with_equal_configs_run_once_and_show_under_each_label(cli, write_suite, store, capsys):
    same = {"label": "same", "segmenter": {"name": "dark-blobs", "params": {"threshold": 128}}}
    path = write_suite(methods=[{"segmenter": "dark-blobs"}, same], seeds=[0])
    assert cli("run", path, "--dry-run") == 0
    assert "same config as dark-blobs (runs once)" in capsys.readouterr().out
    assert cli("run", path) == 0
    out = capsys.readouterr().out
    assert "2 runs: 1 run now, 0 already done, 0 failed, 1 sharing another's configuration" in out
    assert "dark-blobs  disks" in out and "same        disks" in out
    assert len(_children(store)) == 1


def test_a_segmenter_error_names_the_image(cli, write_suite, store, capsys):
    path = write_suite(methods=[{"segmenter": {"name": "dark-blobs", "params": {"fail_on_count": 3}}}],
                       seeds=[0])  # disk-2 has 3 disks
    assert cli("run", path) == 1
    err = capsys.readouterr().err
    assert ("FAILED: method 'dark-blobs' on dataset 'disks' (seed 0): 1 of 3 images failed; first: "
            "image #2: ImageError: disk-2: ValueError: failing on purpose") in err


def test_a_missing_dataset_folder_fails_before_any_work(cli, write_suite, store, tmp_path, capsys):
    missing = {"name": "folder", "label": "mine", "params": {"root": str(tmp_path / "none")}}
    path = write_suite(datasets=[missing])
    assert cli("run", path) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nucbench: error: {path}: dataset 'mine': {tmp_path / 'none'}")
    assert MlflowClient(store).get_experiment_by_name("tiny") is None
