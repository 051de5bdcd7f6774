# Inputs of an environment (environments/<env>.tfvars). The module validates each of them; the
# environment is checked here too because it selects the sizes in main.tf.
variable "environment" {
  description = "Which environment this state is: staging or production (picks its sizes in main.tf)."
  type        = string

  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "environment must be staging or production."
  }
}

variable "project_id" {
  description = "GCP project of this environment."
  type        = string
}

variable "region" {
  description = "GCP region of this environment."
  type        = string
  default     = "europe-west4"
}

variable "master_authorized_networks" {
  description = "CIDR blocks allowed to reach the Kubernetes API (office, VPN, CI runners)."
  type = list(object({
    cidr_block   = string
    display_name = string
  }))
}

variable "gpu_zones" {
  description = "Zones of the region that have the chosen GPU (GPU pool node_locations); empty = every zone."
  type        = list(string)
  default     = []
}

variable "rbac_security_group" {
  description = "Google Group for GKE RBAC (gke-security-groups@DOMAIN); empty to disable."
  type        = string
  default     = ""
}
