#!/usr/bin/env bash
# Builds and pushes the Dataflow images (CPU worker, GPU worker, one Flex Template launcher per
# job) and writes both Flex Template specs to Cloud Storage.
#
#   PROJECT=my-project REGION=europe-west1 BUCKET=my-bucket infra/dataflow/build.sh
#
# BUILDER=cloudbuild (default) builds in Cloud Build; BUILDER=docker builds with the local
# docker daemon and pushes (run `gcloud auth configure-docker REGION-docker.pkg.dev` once).
# PRINT_ONLY=1 builds no image and prints both template specs instead of writing them
# (`gcloud dataflow flex-template build --print-only`; needs no network or credentials).
# Needs: gcloud; an Artifact Registry Docker repository REPOSITORY in REGION
#   (gcloud artifacts repositories create restoreflow --repository-format=docker --location=REGION).
set -euo pipefail

PROJECT="${PROJECT:-my-project}"
REGION="${REGION:-europe-west1}"
BUCKET="${BUCKET:-${PROJECT}-restoreflow}"
REPOSITORY="${REPOSITORY:-restoreflow}"
TAG="${TAG:-$(git rev-parse --short HEAD 2>/dev/null || date -u +%Y%m%d%H%M%S)}"
BEAM_VERSION="${BEAM_VERSION:-2.77.0}"
BUILDER="${BUILDER:-cloudbuild}"
PRINT_ONLY="${PRINT_ONLY:-0}"
TEMPLATES="${TEMPLATES:-gs://${BUCKET}/templates}"
IMAGE_PREFIX="${IMAGE_PREFIX:-${REGION}-docker.pkg.dev/${PROJECT}/${REPOSITORY}}"
# Defaults baked into the specs (a launch may override them).
WORKER_MACHINE_TYPE="${WORKER_MACHINE_TYPE:-n1-standard-8}"
MAX_WORKERS="${MAX_WORKERS:-4}"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "${HERE}/../.." && pwd)"
cd "${ROOT}"

build_images() {
  case "${BUILDER}" in
    cloudbuild)
      gcloud builds submit . \
        --project="${PROJECT}" \
        --config=infra/dataflow/cloudbuild.yaml \
        --ignore-file=infra/dataflow/build.gcloudignore \
        --substitutions="_IMAGE_PREFIX=${IMAGE_PREFIX},_TAG=${TAG},_BEAM_VERSION=${BEAM_VERSION}"
      ;;
    docker)
      export DOCKER_BUILDKIT=1
      docker build -f infra/dataflow/Dockerfile --build-arg "BEAM_VERSION=${BEAM_VERSION}" \
        -t "${IMAGE_PREFIX}/restoreflow-worker:${TAG}" .
      docker build -f infra/dataflow/Dockerfile.gpu --build-arg "BEAM_VERSION=${BEAM_VERSION}" \
        -t "${IMAGE_PREFIX}/restoreflow-worker-gpu:${TAG}" .
      for job in restore shards; do
        docker build -f infra/dataflow/Dockerfile.launcher --build-arg "BEAM_VERSION=${BEAM_VERSION}" \
          --build-arg "JOB=${job}" -t "${IMAGE_PREFIX}/restoreflow-launcher-${job}:${TAG}" .
      done
      for image in worker worker-gpu launcher-restore launcher-shards; do
        docker push "${IMAGE_PREFIX}/restoreflow-${image}:${TAG}"
      done
      ;;
    *)
      echo "build.sh: BUILDER must be cloudbuild or docker, not '${BUILDER}'" >&2
      exit 2
      ;;
  esac
}

build_template() {
  local job="$1"
  local extra=()
  if [ "${PRINT_ONLY}" = "1" ]; then
    extra+=(--print-only)
  else
    extra+=(--project="${PROJECT}")
  fi
  gcloud dataflow flex-template build "${TEMPLATES}/${job}.json" \
    --image="${IMAGE_PREFIX}/restoreflow-launcher-${job}:${TAG}" \
    --sdk-language=PYTHON \
    --metadata-file="infra/dataflow/${job}.metadata.json" \
    --worker-machine-type="${WORKER_MACHINE_TYPE}" \
    --max-workers="${MAX_WORKERS}" \
    --additional-experiments=use_runner_v2 \
    "${extra[@]}"
}

if [ "${PRINT_ONLY}" != "1" ]; then
  build_images
fi
build_template restore
build_template shards

if [ "${PRINT_ONLY}" != "1" ]; then
  echo "Templates: ${TEMPLATES}/restore.json ${TEMPLATES}/shards.json"
  echo "Worker images: ${IMAGE_PREFIX}/restoreflow-worker:${TAG} ${IMAGE_PREFIX}/restoreflow-worker-gpu:${TAG}"
fi
