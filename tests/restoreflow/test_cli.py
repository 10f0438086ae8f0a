import subprocess
import sys
from pathlib import Path

import pytest

from restoreflow import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_subcommand_has_help(name):
    result = subprocess.run([sys.executable, "-m", "restoreflow.cli", name, "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage" in result.stdout.lower()


def test_unknown_subcommands_are_named_with_a_suggestion(capsys):
    assert cli.main(["shard"]) == 2
    assert "unknown subcommand 'shard' (did you mean 'shards'?)" in capsys.readouterr().err
    assert cli.main([]) == 0 and "restore" in capsys.readouterr().out
