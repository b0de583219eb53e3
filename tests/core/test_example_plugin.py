"""The example third-party package, pip-installed, is found through its entry point and usable by name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "nucbench-area-prior"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, str]:
    """Install the example into a private target folder; return an environment that sees it."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(EXAMPLE)],
        check=True, capture_output=True,
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(target), env.get("PYTHONPATH", "")])
    return env


def test_installed_example_appears_in_plugins_list(installed):
    proc = subprocess.run([sys.executable, "-m", "nucbench.cli", "plugins", "list", "--kind",
                           "regularizer", "--json"], capture_output=True, text=True, env=installed)
    assert proc.returncode == 0, proc.stderr
    entries = json.loads(proc.stdout)
    assert {"name": "area-prior", "plugin": "nucbench-area-prior"}.items() <= entries[0].items()


def test_installed_example_is_usable_from_yaml(installed, tmp_path):
    config = tmp_path / "exp.yaml"
    config.write_text("regularizers:\n  - {name: area-prior, params: {fraction: 0.25, weight: 2}}\n")
    script = f"""
import torch
from nucbench import RegularizerContext
from nucbench.config import ExperimentConfig, load_config
from nucbench.plugins import PluginManager
cfg = load_config({str(config)!r}, ExperimentConfig)
spec = cfg.regularizers[0]
reg = PluginManager().create("regularizer", spec.name, **spec.params)
A = torch.full((2, 1, 4, 4), 0.75)
ctx = RegularizerContext(images=None, confidence=None, attention=A, attend=None, step=0)
print(reg.weight, float(reg(ctx)))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=installed)
    assert proc.returncode == 0, proc.stderr
    weight, loss = proc.stdout.split()
    assert float(weight) == 2.0
    assert float(loss) == pytest.approx(0.25)  # (0.75 - 0.25) ** 2
