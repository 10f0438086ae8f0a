"""Every YAML file a user gives (recipes, training configs, nightly.yaml, ``--set`` values) goes
through ``restoreflow.configs.parse_yaml``: aliases, text that is not UTF-8 and huge values are
one short line and exit 2, never a traceback, gigabytes of memory or a megabyte "line"."""

import pytest

from model import train
from pipelines import nightly
from pipelines.shards import job as make_shards
from restoreflow.configs import SHOWN_CHARS, ConfigError, parse_yaml, shown
from restoreflow.console import MAX_ERROR_CHARS
from tests.helpers.images import photo, write_image

# Nine levels of nine aliases: 9**9 (387 million) strings once expanded, from 700 bytes of text.
BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))
NOT_UTF8 = "name: caf\xe9\nsteps: []\n".encode("latin-1")


def test_aliases_are_refused_before_they_expand():
    with pytest.raises(ConfigError, match=r"^f\.yaml is not valid YAML: uses the alias \*a: anchors and aliases are "
                                          r"not accepted .* \(line 2, column 4\)$"):
        parse_yaml("a: &a [1, 2]\nb: *a\n", "f.yaml")
    with pytest.raises(ConfigError, match="merge|alias"):
        parse_yaml("base: &b {x: 1}\nother:\n  <<: *b\n", "f.yaml")
    assert parse_yaml("a: &a [1, 2]\n", "f.yaml") == {"a": [1, 2]}, "an anchor alone expands nothing"


def test_bytes_must_be_utf8():
    assert parse_yaml("name: café\n".encode(), "f.yaml") == {"name": "café"}
    with pytest.raises(ConfigError, match=r"^f\.yaml is not UTF-8 text \(byte 0xe9 at offset 9\); save it as UTF-8$"):
        parse_yaml(NOT_UTF8, "f.yaml")


def test_an_echoed_value_is_a_short_prefix():
    assert shown("abc") == "'abc'" and shown([1, 2]) == "[1, 2]"
    long = shown("x" * 3_000_000)
    assert long.endswith("…") and len(long) == SHOWN_CHARS + 1
    assert len(shown(list(range(100_000)))) == SHOWN_CHARS + 1


@pytest.fixture
def clean_folder(tmp_path):
    write_image(tmp_path / "clean" / "camera.png", photo("camera", (32, 32)))
    return tmp_path / "clean"


def _commands(tmp_path, clean_folder, path):
    """Each command that reads a YAML file the user names, pointed at ``path``."""
    return {
        "shards --recipe": lambda: make_shards.main([f"--input={clean_folder}", f"--output={tmp_path / 'shards'}",
                                                    f"--recipe={path}"]),
        "train --config": lambda: train.main(["--config", str(path), "--workdir", str(tmp_path / "run")]),
        "nightly --config": lambda: nightly.main(["--config", str(path)]),
    }


@pytest.mark.parametrize("command", ["shards --recipe", "train --config", "nightly --config"])
@pytest.mark.parametrize("content, message", [
    (BOMB.encode(), "uses the alias *a: anchors and aliases are not accepted"),
    (NOT_UTF8, "is not UTF-8 text (byte 0xe9 at offset 9); save it as UTF-8"),
], ids=["anchor-bomb", "latin-1"])
def test_user_yaml_files_are_one_line_and_exit_2(tmp_path, clean_folder, capsys, command, content, message):
    path = tmp_path / "given.yaml"
    path.write_bytes(content)
    assert _commands(tmp_path, clean_folder, path)[command]() == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and message in err, err


@pytest.mark.parametrize("command, content", [
    ("shards --recipe", "name: big\ntask: denoise\nsteps:\n  - op: gaussian_noise\n    noise_sigma: '{x}'\n"),
    ("train --config", "data: {{shards: s, batch_size: '{x}'}}\n"),
    ("nightly --config", "input: in\noutput: out\ntile_size: '{x}'\n"),
    ("train --config", "data: {{shards: s}}\n? '{x}'\n: 1\n"),  # an unknown key
])
def test_a_megabyte_value_is_echoed_as_a_short_prefix(tmp_path, clean_folder, capsys, command, content):
    path = tmp_path / "given.yaml"
    path.write_text(content.format(x="x" * 3_000_000))
    assert _commands(tmp_path, clean_folder, path)[command]() == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "xxxx…" in err and len(err) < MAX_ERROR_CHARS + 50, err[:1000]
