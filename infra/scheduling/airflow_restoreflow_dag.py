"""Airflow DAGs that run restoreflow every night at 02:00 (UTC unless the deployment says else).

restoreflow_nightly_dataflow
    Launches the restore Flex Template on Dataflow (GPU workers) with the Google provider's
    DataflowStartFlexTemplateOperator and waits for the job; the restore job is incremental
    (it skips images already done with the same model and settings). Then it rebuilds
    OUTPUT/report.html with ``restoreflow report OUTPUT``, which needs ``restoreflow[gcp]``
    installed where the Airflow worker runs.
    Needs: apache-airflow-providers-google and apache-airflow-providers-apache-beam, a
    ``google_cloud_default`` connection allowed to launch Dataflow jobs (roles/dataflow.developer
    and actAs on the worker service account), and the template and images from
    infra/dataflow/build.sh. Without the Google provider this DAG is left out and the local
    one still loads.

restoreflow_nightly_local
    Runs ``restoreflow nightly --config ...`` with a BashOperator, for a single machine (the
    config's beam_args may still send the job to Dataflow).

Both are paused when first loaded: unpause the one you use. Settings come from Airflow
Variables (Admin > Variables), read when a task runs, never at parse time:
restoreflow_project, restoreflow_region, restoreflow_bucket_prefix, restoreflow_template,
restoreflow_worker_image, restoreflow_input, restoreflow_output, restoreflow_model,
restoreflow_service_account, restoreflow_config (the nightly.yaml of the local DAG).
"""

from __future__ import annotations

import datetime

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

try:  # Airflow 3: the standard provider
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator

from airflow.exceptions import AirflowException

try:  # needs apache-airflow-providers-google and apache-airflow-providers-apache-beam
    from airflow.providers.google.cloud.operators.dataflow import DataflowStartFlexTemplateOperator
except (ImportError, AirflowException):  # a single-machine Airflow: only the local DAG below
    DataflowStartFlexTemplateOperator = None

SCHEDULE = "0 2 * * *"
START = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)


# Jinja, rendered when a task runs: an Airflow Variable or its default.
PREFIX = "var.value.get('restoreflow_bucket_prefix', 'my-project-restoreflow')"


def var(name: str, default: str) -> str:
    """``{{ var.value.get('restoreflow_NAME', DEFAULT) }}``; DEFAULT is a Jinja expression."""
    return "{{ var.value.get('restoreflow_" + name + "', " + default + ") }}"


def literal(text: str) -> str:
    return "'" + text + "'"


def in_bucket(suffix: str, path: str) -> str:
    """Jinja expression: gs://PREFIX-SUFFIX/PATH."""
    return "'gs://' ~ " + PREFIX + " ~ '-" + suffix + "/" + path + "'"


PROJECT = var("project", literal("my-project"))
REGION = var("region", literal("europe-west1"))
OUTPUT = var("output", in_bucket("output", "restored"))

DEFAULT_ARGS = {
    "owner": "restoreflow",
    "retries": 2,
    "retry_delay": datetime.timedelta(minutes=15),
    "retry_exponential_backoff": True,
}

# projects.locations.flexTemplates.launch body (the same as the Cloud Scheduler job's in
# infra/terraform/main.tf). Parameters are the restore job's flags, as strings.
LAUNCH_BODY = {
    "launchParameter": {
        "jobName": "restoreflow-nightly-{{ ds_nodash }}",
        "containerSpecGcsPath": var("template", in_bucket("artifacts", "templates/restore.json")),
        "parameters": {
            "input": var("input", in_bucket("input", "incoming")),
            "output": OUTPUT,
            "model": var("model", in_bucket("artifacts", "models/denoise")),
            "tile_size": "512",
            "batch_size": "4",
            "format": "keep",
        },
        "environment": {
            "serviceAccountEmail": var("service_account", literal("restoreflow-runner@my-project.iam.gserviceaccount.com")),
            "tempLocation": "{{ " + in_bucket("temp", "dataflow/temp") + " }}",
            "stagingLocation": "{{ " + in_bucket("temp", "dataflow/staging") + " }}",
            "sdkContainerImage": var(
                "worker_image", literal("europe-west1-docker.pkg.dev/my-project/restoreflow/restoreflow-worker-gpu:latest")
            ),
            "machineType": "n1-standard-8",
            "numWorkers": 1,
            "maxWorkers": 4,
            "diskSizeGb": 100,
            "additionalExperiments": [
                "use_runner_v2",
                "no_use_multiple_sdk_containers",
                "worker_accelerator=type:nvidia-tesla-t4;count:1;install-nvidia-driver",
            ],
            "additionalUserLabels": {"app": "restoreflow"},
        },
    }
}

if DataflowStartFlexTemplateOperator is not None:
    with DAG(
        dag_id="restoreflow_nightly_dataflow",
        description="Incremental restore on Dataflow (Flex Template, GPU workers), then the report.",
        schedule=SCHEDULE,
        start_date=START,
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=True,
        default_args=DEFAULT_ARGS,
        tags=["restoreflow", "dataflow"],
    ) as dataflow_dag:
        restore = DataflowStartFlexTemplateOperator(
            task_id="restore",
            project_id=PROJECT,
            location=REGION,
            body=LAUNCH_BODY,
            wait_until_finished=True,
            append_job_name=True,
            execution_timeout=datetime.timedelta(hours=12),
        )
        report = BashOperator(
            task_id="report",
            bash_command="restoreflow report " + OUTPUT,
            execution_timeout=datetime.timedelta(hours=1),
        )
        restore >> report

with DAG(
    dag_id="restoreflow_nightly_local",
    description="restoreflow nightly --config (incremental restore + report) on the Airflow worker.",
    schedule=SCHEDULE,
    start_date=START,
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=True,
    default_args=DEFAULT_ARGS,
    tags=["restoreflow"],
) as local_dag:
    BashOperator(
        task_id="nightly",
        # Exit 0: the run completed (rejected inputs are listed, not fatal); 1 failed; 2 bad config.
        bash_command="restoreflow nightly --config " + var("config", literal("/etc/restoreflow/nightly.yaml")),
        env={"TF_CPP_MIN_LOG_LEVEL": "2"},
        append_env=True,
        execution_timeout=datetime.timedelta(hours=12),
    )
