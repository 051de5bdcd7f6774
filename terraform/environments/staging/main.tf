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
    # H100s: serve_config.gpu.yaml's engines ask for accelerator_type H100, and the 70B model
    # needs 4 on one node (tensor parallel 4); tests/delivery hold the three together
    machine_type      = "a3-highgpu-4g"
    accelerator_type  = "nvidia-h100-80gb"
    accelerator_count = 4
    min_count         = 0
    max_count         = 1
    disk_size_gb      = 300
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
