import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from model import train, train_loop
from model.config import load_config
from pipelines.shards import job as make_shards
from restoreflow.configs import ConfigError
from restoreflow.provenance import cpu_flags
from tests.helpers import processes

ROOT = Path(__file__).resolve().parents[2]
TINY_MODEL = {"architecture": "dncnn", "args": {"channels": 1, "depth": 3, "width": 8, "batch_norm": False}}


@pytest.fixture(scope="module")
def shards(tmp_path_factory, request):
    """Tiny real shards: 24x24 patches of four scikit-image photographs at sigma 25."""
    from tests.helpers.images import photo, write_image

    root = tmp_path_factory.mktemp("train")
    for name in ("camera", "moon", "coins", "text"):
        write_image(root / "clean" / f"{name}.png", photo(name, (64, 64)))
    make_shards.run([
        f"--input={root / 'clean'}", f"--output={root / 'shards'}", "--recipe=denoise-gray-s25",
        "--patch_size=24", "--stride=8", "--val_fraction=0.25",
    ])
    return str(root / "shards")


def config_dict(shards, **train_overrides):
    return {
        "data": {"shards": shards, "batch_size": 8, "shuffle_buffer": 64, "val_batch_size": 16},
        "model": TINY_MODEL,
        "optimizer": {"learning_rate": 0.003, "schedule": "constant"},
        "train": {"steps": 2, "log_every": 1, "eval_every": 1000, "checkpoint_every": 1000, **train_overrides},
    }


def write_config(path, data):
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.mark.slow
def test_one_step_smoke_training_exports_a_loadable_model(shards, tmp_path):
    from model.export import load_model

    config = load_config(None, base=config_dict(shards, steps=1, eval_every=1))
    model_dir = train.train(config, str(tmp_path / "run"))
    model, card = load_model(model_dir)
    assert card["training"]["steps"] == 1 and card["task"] == "denoise" and card["channels"] == 1
    assert card["data"]["recipe"]["name"] == "denoise-gray-s25" and len(card["data"]["manifest_sha256"]) == 64
    assert card["validation"]["final"]["psnr_db"] > 0
    manifest = json.loads((Path(shards) / "manifest.json").read_text())
    assert card["validation"]["final"]["records"] == manifest["counts"]["records"]["val"] == card["data"]["records"]["val"]
    assert model(np.zeros((1, 13, 17, 1), np.float32)).shape == (1, 13, 17, 1)
    assert (tmp_path / "run" / "config.yaml").exists() and (Path(model_dir) / "config.yaml").exists()
    assert list((tmp_path / "run" / "logs").iterdir()), "TensorBoard event files"


@pytest.mark.slow
def test_loss_goes_down_on_a_small_fixed_set(shards, tmp_path, caplog):
    caplog.set_level("INFO", logger="restoreflow.train")
    config = load_config(None, base=config_dict(shards, steps=60, log_every=5))
    train.train(config, str(tmp_path / "run"))
    lines = [r.getMessage() for r in caplog.records if "loss " in r.getMessage()]
    assert lines[0].startswith("step 1/60 ") and "first step" in lines[0]  # at once, not after log_every steps
    losses = [float(line.split("loss ")[1].split()[0]) for line in lines[1:]]
    assert len(losses) == 12
    assert np.mean(losses[-3:]) < 0.6 * np.mean(losses[:2])


@pytest.mark.slow
def test_resume_continues_exactly_where_a_run_stopped(shards, tmp_path):
    straight = train.train_model(load_config(None, base=config_dict(shards, steps=8)), str(tmp_path / "a"))
    first = config_dict(shards, steps=4, checkpoint_every=2)
    train.train_model(load_config(None, base=first), str(tmp_path / "b"))
    resumed = train.train_model(load_config(None, base={**first, "train": {**first["train"], "steps": 8}}),
                                str(tmp_path / "b"))
    assert resumed.history.started_step == 4 and [step for step, _ in resumed.history.losses] == [5, 6, 7, 8]
    for a, b in zip(straight.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_a_killed_run_resumes_from_its_last_checkpoint(shards, tmp_path):
    import tensorflow as tf

    # An open-ended run, killed with SIGKILL once it has saved a few checkpoints.
    config = config_dict(shards, steps=10**7, checkpoint_every=5, log_every=1000)
    workdir = tmp_path / "run"
    command = [sys.executable, "-m", "restoreflow.cli", "train", "--config", write_config(tmp_path / "c.yaml", config),
               "--workdir", str(workdir)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def saved_step():  # what TensorFlow itself would resume from
        latest = tf.train.latest_checkpoint(str(workdir / "checkpoints"))
        return int(latest.rsplit("-", 1)[1]) if latest else 0

    try:
        deadline = time.time() + 240
        while time.time() < deadline and saved_step() < 10:
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    saved = saved_step()
    assert saved >= 10, "the run was killed after some checkpoints"
    resumed = train.train_model(load_config(None, [f"train.steps={saved + 20}"], base=config), str(workdir))
    assert resumed.history.started_step == saved and resumed.history.step == saved + 20
    assert resumed.card["training"]["steps"] == saved + 20 and resumed.card["training"]["steps_this_run"] == 20


@pytest.mark.slow
def test_ctrl_c_is_one_line_naming_the_checkpoint_a_rerun_continues_from(shards, tmp_path):
    import tensorflow as tf

    config = config_dict(shards, steps=10**7, checkpoint_every=5, log_every=1000)
    workdir = tmp_path / "run"
    process = processes.start([sys.executable, "-m", "restoreflow.cli", "train", "--config",
                               write_config(tmp_path / "c.yaml", config), "--workdir", str(workdir)])
    stderr = processes.interrupt_when(process, lambda: tf.train.latest_checkpoint(str(workdir / "checkpoints")))
    assert process.returncode == 130, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if " INFO restoreflow.train: " not in line]
    assert len(lines) == 1, "\n".join(lines)
    latest = tf.train.latest_checkpoint(str(workdir / "checkpoints"))
    step = int(latest.rsplit("-", 1)[1])
    assert lines[0] == (f"restoreflow train: interrupted (Ctrl-C): the checkpoint of step {step} ({latest}) is kept; "
                        "the same command run again continues from it")
    resumed = train.train_model(load_config(None, [f"train.steps={step + 2}"], base=config), str(workdir))
    assert resumed.history.started_step == step


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _two_workers(config, workdir, weights_prefix):
    """Runs the trainer as two MultiWorkerMirroredStrategy workers on 127.0.0.1 sharing
    ``workdir``; returns their final weights (chief first) and their logs."""
    cluster = {"worker": [f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"]}
    processes = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "tests.model.train_worker", config, str(workdir), f"{weights_prefix}{index}.npz"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        ))
    outputs = [p.communicate(timeout=600)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], "\n".join(o[-3000:] for o in outputs)
    return [np.load(f"{weights_prefix}{i}.npz") for i in range(2)], outputs


@pytest.mark.slow
def test_two_worker_processes_train_to_identical_weights_and_resume_together(shards, tmp_path):
    workdir = tmp_path / "shared"  # a folder both workers see, as a bucket would be
    config = write_config(tmp_path / "c.yaml", config_dict(shards, steps=5, strategy="multi_worker", checkpoint_every=1))
    (chief, worker), _ = _two_workers(config, workdir, str(tmp_path / "first"))
    assert len(chief.files) == len(worker.files) > 0
    for name in chief.files:
        np.testing.assert_array_equal(chief[name], worker[name])
    card = json.loads((workdir / "model" / "model.json").read_text())
    assert card["training"]["replicas"] == 2 and card["training"]["strategy"] == "multi_worker"
    assert sorted(p.name for p in (workdir / "checkpoints").glob("ckpt-*.index")) == ["ckpt-3.index", "ckpt-4.index", "ckpt-5.index"]

    # Both workers resume from the chief's checkpoint and stay in step.
    longer = write_config(tmp_path / "c2.yaml", config_dict(shards, steps=8, strategy="multi_worker", checkpoint_every=1))
    (chief, worker), logs = _two_workers(longer, workdir, str(tmp_path / "second"))
    for name in chief.files:
        np.testing.assert_array_equal(chief[name], worker[name])
    assert all("at step 5" in log for log in logs)
    card = json.loads((workdir / "model" / "model.json").read_text())
    assert card["training"]["steps"] == 8 and card["training"]["steps_this_run"] == 3


@pytest.mark.slow
def test_mirrored_strategy_over_two_logical_cpus(shards, tmp_path):
    config = write_config(
        tmp_path / "c.yaml", config_dict(shards, steps=3, strategy="mirrored", devices=["/cpu:0", "/cpu:1"])
    )
    result = subprocess.run(
        [sys.executable, "-m", "tests.model.train_worker", config, str(tmp_path / "run"), str(tmp_path / "w.npz"),
         "--logical-cpus", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    card = json.loads((tmp_path / "run" / "model" / "model.json").read_text())
    assert card["training"]["replicas"] == 2 and card["training"]["strategy"] == "mirrored"


@pytest.mark.parametrize(
    "override, key",
    [
        ("train.loss={msee: 1.0}", "msee"),
        ("model.args.depht=3", "depht"),
    ],
)
def test_config_typos_found_once_training_starts_are_errors_naming_the_key(shards, tmp_path, override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        config = load_config(None, [override], base=config_dict(shards))
        train.train(config, str(tmp_path / "run"))


def test_cli_reports_config_errors_in_one_line(shards, tmp_path, capsys):
    config = write_config(tmp_path / "c.yaml", config_dict(shards))
    assert train.main(["--config", config, "--workdir", str(tmp_path / "r"), "--set", "data.batch_sise=4"]) == 2
    assert "data.batch_sise" in capsys.readouterr().err


@pytest.mark.slow
def test_a_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(shards, tmp_path):
    config = load_config(None, base={
        **config_dict(shards, steps=50, checkpoint_every=2),
        "optimizer": {"learning_rate": 1e12, "schedule": "constant"},
    })
    with pytest.raises(train_loop.TrainingError, match="loss became") as failure:
        train.train(config, str(tmp_path / "run"))
    assert "Last good checkpoint" in str(failure.value)
    assert not (tmp_path / "run" / "model").exists()


@pytest.mark.slow
def test_rerun_with_other_settings_in_the_same_workdir_is_refused(shards, tmp_path):
    train.train(load_config(None, base=config_dict(shards, steps=1)), str(tmp_path / "run"))
    other = config_dict(shards, steps=1)
    other["optimizer"]["learning_rate"] = 0.1
    with pytest.raises(ConfigError, match="optimizer.learning_rate"):
        train.train(load_config(None, base=other), str(tmp_path / "run"))


@pytest.mark.skipif(not ({"avx512_bf16", "amx_bf16"} & cpu_flags()),
                    reason="needs a CPU with bfloat16 instructions (avx512_bf16 or amx_bf16)")
@pytest.mark.slow
def test_bfloat16_training_on_cpu_exports_a_float32_model(shards, tmp_path):
    from model.export import load_model

    base = config_dict(shards, steps=2)
    base["train"]["mixed_precision"] = True
    model_dir = train.train(load_config(None, base=base), str(tmp_path / "run"))
    model, card = load_model(model_dir)
    assert card["training"]["precision"] == "mixed_bfloat16"
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}


@pytest.mark.parametrize(("val_fraction", "level", "message"), [
    ("0", "INFO", "made with --val_fraction 0"),  # asked for
    ("0.3", "WARNING", "make shards with a larger --val_fraction"),  # neither image hashes into val
])
@pytest.mark.slow
def test_shards_without_validation_records_train_and_export_and_say_so(tmp_path, caplog, val_fraction, level, message):
    from model.export import load_model
    from tests.helpers.images import photo, write_image

    for name in ("camera", "moon"):
        write_image(tmp_path / "clean" / f"{name}.png", photo(name, (48, 48)))
    manifest = make_shards.run([
        f"--input={tmp_path / 'clean'}", f"--output={tmp_path / 'shards'}", "--recipe=denoise-gray-s25",
        "--patch_size=24", "--stride=12", f"--val_fraction={val_fraction}",
    ])
    assert manifest.counts.records.val == 0 and manifest.shards.val, "empty val files exist"
    caplog.set_level("INFO", logger="restoreflow.train")
    config = load_config(None, base=config_dict(str(tmp_path / "shards"), steps=2, eval_every=1))
    _, card = load_model(train.train(config, str(tmp_path / "run")))
    assert card["training"]["steps"] == 2 and card["validation"] == {"final": None, "best": None}
    said = [r for r in caplog.records if "without validation scores" in r.getMessage()]
    assert len(said) == 1 and said[0].levelname == level and message in said[0].getMessage()


@pytest.mark.slow
def test_a_checkpoint_is_saved_before_an_evaluation_can_fail(shards, tmp_path, monkeypatch):
    def failing_evaluator(*args, **kwargs):
        def evaluate(writer, step, tag="val"):  # fault injection: evaluation breaks
            raise RuntimeError("injected evaluation failure")

        return evaluate

    monkeypatch.setattr("model.evaluation.make_evaluator", failing_evaluator)
    config = load_config(None, base=config_dict(shards, steps=4, eval_every=2, checkpoint_every=2))
    with pytest.raises(RuntimeError, match="injected"):
        train.train(config, str(tmp_path / "run"))
    import tensorflow as tf

    assert tf.train.latest_checkpoint(str(tmp_path / "run" / "checkpoints")).endswith("ckpt-2")


@pytest.mark.slow
def test_a_damaged_shard_is_one_line_naming_the_file(shards, tmp_path, capsys):
    import shutil

    copy = tmp_path / "shards"
    shutil.copytree(shards, copy)
    damaged = sorted((copy / "train").glob("*.tfrecord.gz"))[0]
    data = damaged.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])
    config = write_config(tmp_path / "c.yaml", config_dict(str(copy), steps=50))
    assert train.main(["--config", config, "--workdir", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"shard {damaged} is damaged" in err


def test_a_val_shard_cut_at_a_record_boundary_is_one_line_and_no_model_is_exported(shards, tmp_path, capsys):
    """Issue 21: a val shard that lost records but still reads cleanly (cut after a record, or
    emptied) gave exit 0 and a card whose validation score covered fewer records."""
    import shutil

    import tensorflow as tf

    copy = tmp_path / "shards"
    shutil.copytree(shards, copy)
    cut = sorted((copy / "val").glob("*.tfrecord.gz"))[0]
    records = list(tf.data.TFRecordDataset(str(cut), compression_type="GZIP").as_numpy_iterator())
    kept = records[: len(records) // 2]
    with tf.io.TFRecordWriter(str(cut), options="GZIP") as writer:
        for record in kept:
            writer.write(record)
    config = write_config(tmp_path / "c.yaml", config_dict(str(copy), steps=2, eval_every=1))
    assert train.main(["--config", config, "--workdir", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err.strip()
    listed = json.loads((copy / "manifest.json").read_text())["counts"]["records"]["val"]
    assert len(err.splitlines()) == 1, err
    read = listed - (len(records) - len(kept))
    assert f"hold {read} records but {copy / 'manifest.json'} lists {listed}: a val shard is truncated" in err, err
    assert not (tmp_path / "run" / "model").exists()


def test_a_shard_listed_in_the_manifest_but_missing_is_one_line(shards, tmp_path, capsys):
    import shutil

    copy = tmp_path / "shards"
    shutil.copytree(shards, copy)
    missing = sorted((copy / "train").glob("*.tfrecord.gz"))[-1]
    missing.unlink()
    config = write_config(tmp_path / "c.yaml", config_dict(str(copy)))
    assert train.main(["--config", config, "--workdir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{missing} is listed in {copy / 'manifest.json'} but missing" in err, err


def test_shards_of_another_manifest_version_are_one_line_naming_the_manifest(shards, tmp_path, capsys):
    import shutil

    copy = tmp_path / "shards"
    shutil.copytree(shards, copy)
    manifest = copy / "manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "format": 2}))
    config = write_config(tmp_path / "c.yaml", config_dict(str(copy)))
    assert train.main(["--config", config, "--workdir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{manifest} is a shard manifest of format 2" in err, err
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").rglob("ckpt*"))


def test_command_line_mistakes_are_one_line_each(shards, tmp_path, capsys):
    good = config_dict(shards)
    (tmp_path / "bad.yaml").write_text("data:\n  shards: [unclosed\n")
    unknown_arch = write_config(tmp_path / "arch.yaml", {**good, "model": {"architecture": "dncnnn", "args": {}}})
    (tmp_path / "a_file").write_text("")
    cases = [
        (["--config", str(tmp_path / "bad.yaml"), "--workdir", str(tmp_path / "r")], "is not valid YAML"),
        (["--config", unknown_arch, "--workdir", str(tmp_path / "r")], "unknown architecture 'dncnnn' (did you mean 'dncnn'?)"),
        (["--config", write_config(tmp_path / "c.yaml", good), "--workdir", str(tmp_path / "a_file")], "is a file"),
    ]
    for argv, message in cases:
        assert train.main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err


@pytest.mark.slow
def test_train_prints_no_tensorflow_cpp_lines(shards, tmp_path):
    """Issue 21: TensorFlow's C++ INFO lines come after start-up too (reading the shards logs
    "TFRecordDataset `buffer_size` is unspecified"); a plain `restoreflow train` shows none."""
    config = write_config(tmp_path / "c.yaml", config_dict(shards, steps=2, eval_every=2))
    result = subprocess.run([sys.executable, "-m", "restoreflow.cli", "train", "--config", config,
                             "--workdir", str(tmp_path / "run")],
                            cwd=ROOT, env=processes.user_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    ours = re.compile(r"^\d\d:\d\d:\d\d INFO restoreflow\.train: ")
    foreign = [line for line in result.stderr.splitlines() if not ours.match(line)]
    assert foreign == [], "\n".join(foreign)
    assert any("val at step 2" in line for line in result.stderr.splitlines())  # the shards were read
