variable "project" {
  description = "Google Cloud project ID."
  type        = string
}

variable "region" {
  description = "Region of the buckets, the Dataflow job and the Cloud Scheduler job (e.g. europe-west1)."
  type        = string
  default     = "europe-west1"
}

variable "bucket_location" {
  description = "Location of the buckets; null = the region."
  type        = string
  default     = null
}

variable "input_bucket" {
  description = "Bucket of incoming images; null = PROJECT-restoreflow-input."
  type        = string
  default     = null
}

variable "output_bucket" {
  description = "Bucket of restored images, scores and reports; null = PROJECT-restoreflow-output."
  type        = string
  default     = null
}

variable "temp_bucket" {
  description = "Bucket of Dataflow temp and staging files (objects expire); null = PROJECT-restoreflow-temp."
  type        = string
  default     = null
}

variable "artifacts_bucket" {
  description = "Bucket of Flex Template specs and model directories; null = PROJECT-restoreflow-artifacts."
  type        = string
  default     = null
}

variable "temp_retention_days" {
  description = "Days after which objects in the temp bucket are deleted."
  type        = number
  default     = 7
}

variable "force_destroy_buckets" {
  description = "Let `terraform destroy` delete non-empty buckets."
  type        = bool
  default     = false
}

variable "template_path" {
  description = "gs:// path of the restore Flex Template spec (infra/dataflow/build.sh writes it); null = gs://ARTIFACTS/templates/restore.json."
  type        = string
  default     = null
}

variable "worker_image" {
  description = "Worker container image (sdk_container_image), e.g. REGION-docker.pkg.dev/PROJECT/restoreflow/restoreflow-worker-gpu:TAG."
  type        = string
}

variable "input_path" {
  description = "What the nightly job restores (the job's input parameter); null = gs://INPUT_BUCKET/incoming."
  type        = string
  default     = null
}

variable "output_path" {
  description = "Where the nightly job writes (the job's output parameter); null = gs://OUTPUT_BUCKET/restored."
  type        = string
  default     = null
}

variable "model_path" {
  description = "auto (each image to the bundled model its damage diagnosis picks), a bundled model name, or a model directory (model.keras + model.json); null = auto for a new output, else the model of the output's last run."
  type        = string
  default     = null
}

variable "job_parameters" {
  description = "Further restore template parameters (see infra/dataflow/restore.metadata.json), as strings."
  type        = map(string)
  default = {
    tile_size  = "512"
    batch_size = "4"
    format     = "keep"
  }
}

variable "schedule" {
  description = "Cron schedule of the nightly restore (Cloud Scheduler syntax)."
  type        = string
  default     = "0 2 * * *"
}

variable "time_zone" {
  description = "Time zone of the schedule (tz database name)."
  type        = string
  default     = "Etc/UTC"
}

variable "machine_type" {
  description = "Dataflow worker machine type (GPUs T4/P4/V100 need an n1 type)."
  type        = string
  default     = "n1-standard-8"
}

variable "gpu_type" {
  description = "GPU per worker (e.g. nvidia-tesla-t4, nvidia-l4 with g2 machines); null = CPU workers."
  type        = string
  default     = "nvidia-tesla-t4"
}

variable "gpu_count" {
  description = "GPUs per worker."
  type        = number
  default     = 1
}

variable "num_workers" {
  description = "Initial number of Dataflow workers."
  type        = number
  default     = 1
}

variable "max_workers" {
  description = "Maximum number of Dataflow workers."
  type        = number
  default     = 4
}

variable "disk_size_gb" {
  description = "Worker boot disk size in GB (the GPU image with CUDA is large)."
  type        = number
  default     = 100
}

variable "labels" {
  description = "Labels on the buckets and the Dataflow jobs."
  type        = map(string)
  default = {
    app = "restoreflow"
  }
}
