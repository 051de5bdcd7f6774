# Providers and their versions are the module's (modules/ias-platform/versions.tf). The state is
# remote, in GCS, one prefix per environment: `terraform init -backend-config=../environments/<env>.gcs.tfbackend`.
terraform {
  required_version = ">= 1.5"

  backend "gcs" {}
}
