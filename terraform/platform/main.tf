# The root configuration of every environment: one module instance, sized by `var.environment`.
# What differs between staging and production is the map below, reviewed in one place; the
# project, region and networks come from environments/<env>.tfvars, the state prefix from
# environments/<env>.gcs.tfbackend.

provider "google" {
  project = var.project_id
  region  = var.region
}

locals {
  environments = {
    # staging: same shape as production, smaller and cheaper. The GPU pool idles at zero nodes
    # on Spot, Postgres is zonal, and the cluster/database may be destroyed.
    staging = {
      release_channel     = "REGULAR"
      deletion_protection = false
      subnet_cidr         = "10.10.0.0/20"
      pods_cidr           = "10.16.0.0/14"
      services_cidr       = "10.20.0.0/20"
      cpu_node_pool       = { machine_type = "n2-standard-4", min_count = 1, max_count = 3 }
      gpu                 = { min_count = 0, max_count = 1, disk_size_gb = 300, spot = true }
      postgres            = { tier = "db-custom-2-8192", availability_type = "ZONAL", disk_size_gb = 20, backup_retention = 7 }
      redis               = { memory_size_gb = 1 }
    }
    # production: regional HA everywhere, at least one GPU node always warm, deletion protection.
    production = {
      release_channel     = "STABLE"
      deletion_protection = true
      subnet_cidr         = "10.30.0.0/20"
      pods_cidr           = "10.36.0.0/14"
      services_cidr       = "10.40.0.0/20"
      cpu_node_pool       = { machine_type = "n2-standard-8", min_count = 1, max_count = 6 } # per zone: 3 nodes in a 3-zone region
      gpu                 = { min_count = 1, max_count = 4, disk_size_gb = 500, spot = false }
      postgres            = { tier = "db-custom-4-16384", availability_type = "REGIONAL", disk_size_gb = 100, backup_retention = 30 }
      redis               = { memory_size_gb = 5 }
    }
  }
  env = local.environments[var.environment]

  # H100 nodes of 4 in every environment: serve_config.gpu.yaml's engines ask for accelerator_type
  # H100, and the 70B model needs 4 on one node (tensor parallel 4); tests/delivery hold the three
  # together
  gpu_node = { machine_type = "a3-highgpu-4g", accelerator_type = "nvidia-h100-80gb", accelerator_count = 4 }
}

module "platform" {
  source = "../modules/ias-platform"

  project_id                 = var.project_id
  region                     = var.region
  environment                = var.environment
  master_authorized_networks = var.master_authorized_networks
  rbac_security_group        = var.rbac_security_group
  release_channel            = local.env.release_channel
  deletion_protection        = local.env.deletion_protection

  subnet_cidr   = local.env.subnet_cidr
  pods_cidr     = local.env.pods_cidr
  services_cidr = local.env.services_cidr

  cpu_node_pool = local.env.cpu_node_pool
  gpu_node_pool = merge(local.gpu_node, local.env.gpu, { node_locations = var.gpu_zones })
  postgres      = local.env.postgres
  redis         = local.env.redis
}
