# Remote state in a GCS bucket (versioned, uniform access, in the platform's project or a separate
# "ops" project). The state holds the generated Postgres password and the Redis AUTH string, so
# only the people and CI identities that run Terraform may read the bucket. The bucket name is
# an example; pass the real one at init time instead of editing this file:
#   terraform init -backend-config="bucket=<your-state-bucket>"
terraform {
  backend "gcs" {
    bucket = "ias-terraform-state"
    prefix = "ias/production"
  }
}
