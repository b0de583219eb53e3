from __future__ import annotations

import json
import subprocess
import sys

from nucbench.cli import main
from nucbench.registry import KINDS

PLUGIN_FILE = '''
from nucbench import hookimpl


class Halve:
    """Halve every pixel (a test post-processor)."""

    def __call__(self, probability):
        return probability / 2


@hookimpl
def nucbench_register(registries):
    registries.post_processor.register("halve", Halve)
'''


def test_plugins_list_json_has_required_fields(capsys):
    assert main(["plugins", "list", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert isinstance(entries, list) and entries
    for entry in entries:
        assert {"kind", "name", "plugin", "description"} <= set(entry)
        assert entry["kind"] in KINDS
    assert {"kind": "executor", "name": "local"}.items() <= next(
        e for e in entries if e["name"] == "local").items()


def test_plugins_list_misspelt_kind_exits_2_with_suggestion(capsys):
    assert main(["plugins", "list", "--kind", "regulariser"]) == 2
    err = capsys.readouterr().err
    assert "Did you mean 'regularizer'" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_plugin_file_after_subcommand(tmp_path, capsys):
    path = tmp_path / "halve_plugin.py"
    path.write_text(PLUGIN_FILE)
    assert main(["plugins", "list", "--plugin", str(path), "--kind", "post-processor", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    halve = next(e for e in entries if e["name"] == "halve")
    assert halve["plugin"] == str(path) and halve["description"].startswith("Halve every pixel")


def test_missing_plugin_file_is_a_user_error(tmp_path, capsys):
    assert main(["plugins", "list", "--plugin", str(tmp_path / "nope.py")]) == 2
    assert "nope.py: no such file" in capsys.readouterr().err


def test_broken_plugin_file_is_a_user_error(tmp_path, capsys):
    path = tmp_path / "broken.py"
    path.write_text("raise RuntimeError('boom')\n")
    assert main(["plugins", "list", "--plugin", str(path)]) == 2
    assert "failed to import: RuntimeError: boom" in capsys.readouterr().err


def test_pattern_filters(capsys):
    assert main(["plugins", "list", "--kind", "executor", "loc*"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("executor") and "local" in out


def test_console_script_help_on_every_level():
    for args in ([], ["plugins"], ["plugins", "list"]):
        proc = subprocess.run([sys.executable, "-m", "nucbench.cli", *args, "--help"],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert "usage: nucbench" in proc.stdout
