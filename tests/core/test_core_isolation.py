"""The core never imports a plugin: import every core module with the plugin packages hidden."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nucbench

SCRIPT = r"""
import importlib, pkgutil, sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0].startswith("nucbench_"):
            raise ImportError(f"core imported plugin package {name}")
        return None

sys.meta_path.insert(0, Block())
import nucbench
for info in pkgutil.walk_packages(nucbench.__path__, "nucbench."):
    importlib.import_module(info.name)
print("ok")
"""


def test_core_imports_without_plugins():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          cwd=Path(nucbench.__file__).parent.parent)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_importing_nucbench_does_not_import_torch():
    proc = subprocess.run([sys.executable, "-c", "import nucbench, nucbench.cli, sys; "
                           "print('torch' in sys.modules)"], capture_output=True, text=True)
    assert proc.stdout.strip() == "False", proc.stderr
