"""What every benchmark script records beside its figures: machine, date, commit; atomic JSON.

Shared by all scripts in ``benchmarks/`` (they run with this folder on ``sys.path``).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from nucbench import atomic_path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or platform.processor())."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit() -> str:
    """HEAD commit of the repository, with ``-dirty`` when tracked files are modified."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine_info() -> dict[str, Any]:
    """Platform, CPU, cores, torch threads, bf16 support and instructions, load, date, commit, command."""
    import torch

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mkldnn_bf16_supported": bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()),
        "avx512_bf16": bool(torch.cpu._is_avx512_bf16_supported()),
        "amx_tile": bool(torch.cpu._is_amx_tile_supported()),
        "load_average_at_start": os.getloadavg(),
        "date_utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": git_commit(),
        "command": " ".join(["python", *sys.argv]),
    }


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def time_interleaved(
    calls: Mapping[str, Callable[[], object]], repeats: int
) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU seconds of each call over `repeats` interleaved rounds, after one warm-up call each.

    Each round runs every call once, so a change in machine load hits all of them alike and their
    ratio stays fair. Returns ``{name: {"wall": [...], "cpu": [...]}}``.
    """
    for call in calls.values():
        call()
    times: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            wall, cpu = time.perf_counter(), cpu_seconds()
            call()
            times[name]["wall"].append(time.perf_counter() - wall)
            times[name]["cpu"].append(cpu_seconds() - cpu)
    return times


def write_json(path: Path, data: Any) -> Path:
    """Write `data` as indented JSON atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text(path, json.dumps(data, indent=2) + "\n")


def write_text(path: Path, text: str) -> Path:
    """Write `text` to `path` atomically, as :func:`write_json` writes JSON."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path


def default_data_root() -> str | None:
    """``NUCBENCH_DATA`` if set, else ``<repo>/../shared/data`` if it exists, else None.

    Absolute: the scripts pass it on as a dataset's ``root``, and a relative ``root`` is taken
    relative to ``NUCBENCH_DATA`` (``NUCBENCH_DATA=../shared/data`` would become
    ``../shared/data/../shared/data``).
    """
    if os.environ.get("NUCBENCH_DATA"):
        return str(Path(os.environ["NUCBENCH_DATA"]).expanduser().resolve())
    shared = REPO.parent / "shared" / "data"
    return str(shared) if shared.is_dir() else None


#: The data root as a path (``NUCBENCH_DATA``, else ``<repo>/../shared/data``).
DATA = Path(default_data_root() or REPO.parent / "shared" / "data")
