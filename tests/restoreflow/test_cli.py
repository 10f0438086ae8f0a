import json
import subprocess
import sys
from pathlib import Path

from restoreflow import cli, commands

ROOT = Path(__file__).resolve().parents[2]

# One fresh interpreter answers every subcommand's --help, then reports which of the slow
# libraries (each takes seconds to import) got imported on the way. Help stays fast because
# none of them is; the latency itself is measured by bench/jobs/help.py, not asserted in a test
# (a loaded machine made a 1-second bound fail at 2.4 s with no heavy import).
HELP_PROBE = """
import contextlib, io, json, sys, time
from restoreflow import cli
found = {}
for name in cli.COMMANDS:
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = cli.main([name, "--help"])
    found[name] = {"code": code, "seconds": time.perf_counter() - started, "text": out.getvalue()}
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"tensorflow", "keras", "apache_beam", "pyarrow", "scipy"})
print(json.dumps({"help": found, "heavy": heavy}))
"""


def test_every_subcommand_answers_help_at_once_without_loading_tensorflow_or_beam():
    result = subprocess.run([sys.executable, "-c", HELP_PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr == "", "help prints nothing but itself"
    probe = json.loads(result.stdout)
    assert probe["heavy"] == [], "help must not import the libraries that take seconds to load"
    for name, answer in probe["help"].items():
        assert answer["code"] == 0 and answer["text"].startswith(f"usage: restoreflow {name}"), name
        assert "``" not in answer["text"], name
        assert max(map(len, answer["text"].splitlines())) <= 79, name
    restore = probe["help"]["restore"]["text"]
    assert "--input INPUT --output OUTPUT" in restore.splitlines()[0]  # shown as required in the usage
    assert "Repeatable. (required)" in restore and "(default: 640)" in restore and "(default: 0)" in restore
    assert "PPM" in restore and "--verbose" in restore
    assert "(default: 40)" in probe["help"]["shards"]["text"]


def test_nightly_help_shows_a_valid_yaml_with_the_restore_jobs_defaults():
    import textwrap

    import yaml

    from pipelines import nightly
    from pipelines.runtime import flags

    example = yaml.safe_load(textwrap.dedent(commands.NIGHTLY_FORMAT.split("with the same defaults:\n")[1]))
    assert {"input", "output", "beam_args"} <= set(example)
    nightly.from_mapping(example)  # every key a restore flag (or beam_args), every value of its type
    declared = flags.job_flags("restore")
    for key, value in example.items():
        if key not in ("input", "output", "model", "beam_args"):  # examples; the rest are the defaults
            assert value == declared[key].default, key


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("restoreflow 0.")


def test_unknown_subcommands_are_named_with_a_suggestion(capsys):
    assert cli.main(["shard"]) == 2
    assert "unknown subcommand 'shard' (did you mean 'shards'?)" in capsys.readouterr().err
    assert cli.main([]) == 0 and "restore" in capsys.readouterr().out


def test_a_missing_required_flag_is_one_line_and_exit_2(capsys):
    from pipelines import demo

    assert demo.main([]) == 2
    assert capsys.readouterr().err == "restoreflow demo: error: the following arguments are required: --output\n"
