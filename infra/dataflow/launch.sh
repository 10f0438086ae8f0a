#!/usr/bin/env bash
# Launches the restore Flex Template (job 3) on Dataflow with GPU workers.
#
#   PROJECT=my-project REGION=europe-west1 BUCKET=my-bucket \
#   INPUT=gs://my-bucket/incoming OUTPUT=gs://my-bucket/restored MODEL=gs://my-bucket/models/denoise \
#   infra/dataflow/launch.sh
#
# GPU=none launches on CPU workers (the CPU worker image, no accelerator).
# DRY_RUN=1 prints the gcloud command instead of running it.
# Needs: gcloud, the templates and images from infra/dataflow/build.sh (same TAG), and a GPU
# quota in REGION for GPU_TYPE (T4s are in most regions; check `gcloud compute accelerator-types list`).
set -euo pipefail

PROJECT="${PROJECT:-my-project}"
REGION="${REGION:-europe-west1}"
BUCKET="${BUCKET:-${PROJECT}-restoreflow}"
REPOSITORY="${REPOSITORY:-restoreflow}"
TAG="${TAG:-latest}"
TEMPLATE="${TEMPLATE:-gs://${BUCKET}/templates/restore.json}"
IMAGE_PREFIX="${IMAGE_PREFIX:-${REGION}-docker.pkg.dev/${PROJECT}/${REPOSITORY}}"
JOB_NAME="${JOB_NAME:-restoreflow-restore-$(date -u +%Y%m%d-%H%M%S)}"
SERVICE_ACCOUNT="${SERVICE_ACCOUNT:-restoreflow-runner@${PROJECT}.iam.gserviceaccount.com}"
TEMP_LOCATION="${TEMP_LOCATION:-gs://${BUCKET}-temp/dataflow/temp}"
STAGING_LOCATION="${STAGING_LOCATION:-gs://${BUCKET}-temp/dataflow/staging}"

# Job parameters (see infra/dataflow/restore.metadata.json).
INPUT="${INPUT:-gs://${BUCKET}/incoming}"
OUTPUT="${OUTPUT:-gs://${BUCKET}/restored}"
MODEL="${MODEL:-gs://${BUCKET}/models/denoise}"
TILE_SIZE="${TILE_SIZE:-512}"
BATCH_SIZE="${BATCH_SIZE:-8}"
FORMAT="${FORMAT:-keep}"

# Workers. n1 machines take T4/P4/P100/V100 GPUs; one SDK process per VM
# (no_use_multiple_sdk_containers) so that one TensorFlow process owns the GPU.
GPU="${GPU:-nvidia-tesla-t4}"
GPU_COUNT="${GPU_COUNT:-1}"
MACHINE_TYPE="${MACHINE_TYPE:-n1-standard-8}"
DISK_SIZE_GB="${DISK_SIZE_GB:-100}"
NUM_WORKERS="${NUM_WORKERS:-1}"
MAX_WORKERS="${MAX_WORKERS:-4}"
DRY_RUN="${DRY_RUN:-0}"

if [ "${GPU}" = "none" ]; then
  WORKER_IMAGE="${WORKER_IMAGE:-${IMAGE_PREFIX}/restoreflow-worker:${TAG}}"
  EXPERIMENTS="use_runner_v2"
else
  WORKER_IMAGE="${WORKER_IMAGE:-${IMAGE_PREFIX}/restoreflow-worker-gpu:${TAG}}"
  EXPERIMENTS="use_runner_v2,no_use_multiple_sdk_containers,worker_accelerator=type:${GPU};count:${GPU_COUNT};install-nvidia-driver"
fi

# '^~^' makes '~' the list separator, so values may hold commas (gcloud topic escaping).
PARAMETERS="^~^input=${INPUT}~output=${OUTPUT}~model=${MODEL}~tile_size=${TILE_SIZE}~batch_size=${BATCH_SIZE}~format=${FORMAT}"
PIPELINE_OPTIONS="^~^sdk_container_image=${WORKER_IMAGE}~sdk_location=container~disk_size_gb=${DISK_SIZE_GB}"

command=(
  gcloud dataflow flex-template run "${JOB_NAME}"
  --project="${PROJECT}"
  --region="${REGION}"
  --template-file-gcs-location="${TEMPLATE}"
  --service-account-email="${SERVICE_ACCOUNT}"
  --temp-location="${TEMP_LOCATION}"
  --staging-location="${STAGING_LOCATION}"
  --worker-machine-type="${MACHINE_TYPE}"
  --num-workers="${NUM_WORKERS}"
  --max-workers="${MAX_WORKERS}"
  --additional-experiments="${EXPERIMENTS}"
  --additional-pipeline-options="${PIPELINE_OPTIONS}"
  --parameters="${PARAMETERS}"
)

if [ "${DRY_RUN}" = "1" ]; then
  printf '%q ' "${command[@]}"
  printf '\n'
else
  "${command[@]}"
fi
