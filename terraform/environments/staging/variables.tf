variable "project_id" {
  description = "GCP project of this environment."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id: 6-30 characters, lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "GCP region of this environment."
  type        = string
  default     = "europe-west4"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a GCP region name such as europe-west4."
  }
}

variable "master_authorized_networks" {
  description = "CIDR blocks allowed to reach the Kubernetes API (office, VPN, CI runners)."
  type = list(object({
    cidr_block   = string
    display_name = string
  }))

  validation {
    condition = length(var.master_authorized_networks) > 0 && alltrue([
      for n in var.master_authorized_networks : can(cidrhost(n.cidr_block, 0)) && n.cidr_block != "0.0.0.0/0"
    ])
    error_message = "master_authorized_networks needs at least one valid IPv4 CIDR block, and 0.0.0.0/0 is not allowed."
  }
}

variable "gpu_zones" {
  description = "Zones of the region that have the chosen GPU (GPU pool node_locations); empty = every zone."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for z in var.gpu_zones : can(regex("^[a-z]+-[a-z]+[0-9]+-[a-z]$", z))])
    error_message = "gpu_zones must be zone names such as europe-west4-a."
  }
}

variable "rbac_security_group" {
  description = "Google Group for GKE RBAC (gke-security-groups@DOMAIN); empty to disable."
  type        = string
  default     = ""
}
