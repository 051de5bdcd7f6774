provider "google" {
  project = var.project_id
  region  = var.region
}

# Staging: same shape as production, smaller and cheaper. The GPU pool idles at zero nodes,
# Postgres is zonal, and the cluster/database may be destroyed.
module "platform" {
  source = "../../modules/ias-platform"

  project_id                 = var.project_id
  region                     = var.region
  environment                = "staging"
  master_authorized_networks = var.master_authorized_networks
  rbac_security_group        = var.rbac_security_group
  release_channel            = "REGULAR"
  deletion_protection        = false

  subnet_cidr   = "10.10.0.0/20"
  pods_cidr     = "10.16.0.0/14"
  services_cidr = "10.20.0.0/20"

  cpu_node_pool = {
    machine_type = "n2-standard-4"
    min_count    = 1
    max_count    = 3
  }

  gpu_node_pool = {
    machine_type      = "g2-standard-8"
    accelerator_type  = "nvidia-l4"
    accelerator_count = 1
    min_count         = 0
    max_count         = 2
    node_locations    = var.gpu_zones
    spot              = true # staging tolerates preemption
  }

  postgres = {
    tier              = "db-custom-2-8192"
    availability_type = "ZONAL"
    disk_size_gb      = 20
    backup_retention  = 7
  }

  redis = {
    memory_size_gb = 1
  }
}
