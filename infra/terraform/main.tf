locals {
  bucket_location  = coalesce(var.bucket_location, var.region)
  input_bucket     = coalesce(var.input_bucket, "${var.project}-restoreflow-input")
  output_bucket    = coalesce(var.output_bucket, "${var.project}-restoreflow-output")
  temp_bucket      = coalesce(var.temp_bucket, "${var.project}-restoreflow-temp")
  artifacts_bucket = coalesce(var.artifacts_bucket, "${var.project}-restoreflow-artifacts")
  template_path    = coalesce(var.template_path, "gs://${local.artifacts_bucket}/templates/restore.json")
  input_path       = coalesce(var.input_path, "gs://${local.input_bucket}/incoming")
  output_path      = coalesce(var.output_path, "gs://${local.output_bucket}/restored")

  # One SDK process per worker VM when it has a GPU, so that one TensorFlow process owns it.
  experiments = concat(
    ["use_runner_v2"],
    var.gpu_type == null ? [] : [
      "no_use_multiple_sdk_containers",
      "worker_accelerator=type:${var.gpu_type};count:${var.gpu_count};install-nvidia-driver",
    ],
  )

  parameters = merge(
    var.job_parameters,
    {
      input  = local.input_path
      output = local.output_path
    },
    var.model_path == null ? {} : { model = var.model_path },
  )

  launch_uri = "https://dataflow.googleapis.com/v1b3/projects/${var.project}/locations/${var.region}/flexTemplates:launch"

  # projects.locations.flexTemplates.launch request body. The job name stays the same every
  # night: Dataflow refuses a second job of that name while one is still running, so two
  # nights never overlap.
  launch_body = {
    launchParameter = {
      jobName              = "restoreflow-nightly-restore"
      containerSpecGcsPath = local.template_path
      parameters           = local.parameters
      environment = {
        serviceAccountEmail   = google_service_account.restoreflow.email
        tempLocation          = "gs://${google_storage_bucket.temp.name}/dataflow/temp"
        stagingLocation       = "gs://${google_storage_bucket.temp.name}/dataflow/staging"
        machineType           = var.machine_type
        numWorkers            = var.num_workers
        maxWorkers            = var.max_workers
        diskSizeGb            = var.disk_size_gb
        sdkContainerImage     = var.worker_image
        additionalExperiments = local.experiments
        additionalUserLabels  = var.labels
      }
    }
  }
}

resource "google_project_service" "services" {
  for_each = toset([
    "artifactregistry.googleapis.com",
    "cloudscheduler.googleapis.com",
    "compute.googleapis.com",
    "dataflow.googleapis.com",
    "storage.googleapis.com",
  ])
  service            = each.value
  disable_on_destroy = false
}

# --- Buckets ---------------------------------------------------------------------------------

resource "google_storage_bucket" "input" {
  name                        = local.input_bucket
  location                    = local.bucket_location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy_buckets
  labels                      = var.labels
}

resource "google_storage_bucket" "output" {
  name                        = local.output_bucket
  location                    = local.bucket_location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy_buckets
  labels                      = var.labels
}

resource "google_storage_bucket" "artifacts" {
  name                        = local.artifacts_bucket
  location                    = local.bucket_location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy_buckets
  labels                      = var.labels

  versioning {
    enabled = true
  }
}

resource "google_storage_bucket" "temp" {
  name                        = local.temp_bucket
  location                    = local.bucket_location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true
  labels                      = var.labels

  # Dataflow temp and staging files are worthless after the job: no soft-delete copies
  # (Beam warns about soft delete on temp buckets), and expiry after a few days.
  soft_delete_policy {
    retention_duration_seconds = 0
  }

  lifecycle_rule {
    condition {
      age = var.temp_retention_days
    }
    action {
      type = "Delete"
    }
  }
}

# --- Service account: Dataflow launcher and workers, and the identity Cloud Scheduler uses ---

resource "google_service_account" "restoreflow" {
  account_id   = "restoreflow-runner"
  display_name = "restoreflow Dataflow workers and nightly scheduler"
}

resource "google_project_iam_member" "restoreflow" {
  for_each = toset([
    "roles/dataflow.worker",         # run as a Dataflow worker (and the Flex Template launcher VM)
    "roles/dataflow.developer",      # launch Flex Template jobs (Cloud Scheduler calls the API as this account)
    "roles/artifactregistry.reader", # pull the launcher and worker images
    "roles/logging.logWriter",       # worker and launcher logs
    "roles/monitoring.metricWriter", # worker metrics
  ])
  project = var.project
  role    = each.value
  member  = "serviceAccount:${google_service_account.restoreflow.email}"
}

# Launching a job whose workers run as this account requires actAs on it.
resource "google_service_account_iam_member" "restoreflow_act_as_itself" {
  service_account_id = google_service_account.restoreflow.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.restoreflow.email}"
}

resource "google_storage_bucket_iam_member" "object_admin" {
  for_each = {
    input     = google_storage_bucket.input.name
    output    = google_storage_bucket.output.name
    temp      = google_storage_bucket.temp.name
    artifacts = google_storage_bucket.artifacts.name
  }
  bucket = each.value
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.restoreflow.email}"
}

# --- The nightly launch ------------------------------------------------------------------------

resource "google_cloud_scheduler_job" "nightly_restore" {
  name             = "restoreflow-nightly-restore"
  description      = "Launches the restoreflow restore Flex Template (incremental: only new or changed images)."
  region           = var.region
  schedule         = var.schedule
  time_zone        = var.time_zone
  attempt_deadline = "320s"

  retry_config {
    retry_count          = 3
    min_backoff_duration = "300s"
    max_backoff_duration = "1800s"
  }

  http_target {
    http_method = "POST"
    uri         = local.launch_uri
    headers = {
      "Content-Type" = "application/json"
    }
    body = base64encode(jsonencode(local.launch_body))

    oauth_token {
      service_account_email = google_service_account.restoreflow.email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  depends_on = [
    google_project_service.services,
    google_project_iam_member.restoreflow,
    google_service_account_iam_member.restoreflow_act_as_itself,
  ]
}
