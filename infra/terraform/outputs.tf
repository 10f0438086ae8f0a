output "input_bucket" {
  description = "Bucket of incoming images."
  value       = google_storage_bucket.input.name
}

output "output_bucket" {
  description = "Bucket of restored images, scores and reports."
  value       = google_storage_bucket.output.name
}

output "temp_bucket" {
  description = "Bucket of Dataflow temp and staging files."
  value       = google_storage_bucket.temp.name
}

output "artifacts_bucket" {
  description = "Bucket of Flex Template specs and models (build.sh: BUCKET=this, TEMPLATES=gs://this/templates)."
  value       = google_storage_bucket.artifacts.name
}

output "service_account_email" {
  description = "Service account of the Dataflow workers and the Cloud Scheduler job."
  value       = google_service_account.restoreflow.email
}

output "template_path" {
  description = "Flex Template spec the scheduler launches."
  value       = local.template_path
}

output "launch_uri" {
  description = "Dataflow API endpoint the scheduler POSTs to."
  value       = local.launch_uri
}

output "scheduler_job" {
  description = "Cloud Scheduler job ID (run it now: gcloud scheduler jobs run NAME --location REGION)."
  value       = google_cloud_scheduler_job.nightly_restore.id
}
