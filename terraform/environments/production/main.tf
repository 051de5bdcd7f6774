provider "google" {
  project = var.project_id
  region  = var.region
}

# Production: regional HA everywhere, at least one GPU node always warm, deletion protection on.
module "platform" {
  source = "../../modules/ias-platform"

  project_id                 = var.project_id
  region                     = var.region
  environment                = "production"
  master_authorized_networks = var.master_authorized_networks
  rbac_security_group        = var.rbac_security_group
  release_channel            = "STABLE"
  deletion_protection        = true

  subnet_cidr   = "10.30.0.0/20"
  pods_cidr     = "10.36.0.0/14"
  services_cidr = "10.40.0.0/20"

  cpu_node_pool = {
    machine_type = "n2-standard-8"
    min_count    = 1 # per zone: 3 nodes in a 3-zone region
    max_count    = 6
  }

  gpu_node_pool = {
    # H100s: serve_config.gpu.yaml's engines ask for accelerator_type H100, and the 70B model
    # needs 4 on one node (tensor parallel 4); tests/delivery hold the three together
    machine_type      = "a3-highgpu-4g"
    accelerator_type  = "nvidia-h100-80gb"
    accelerator_count = 4
    min_count         = 1
    max_count         = 4
    disk_size_gb      = 500
    node_locations    = var.gpu_zones
  }

  postgres = {
    tier              = "db-custom-4-16384"
    availability_type = "REGIONAL"
    disk_size_gb      = 100
    backup_retention  = 30
  }

  redis = {
    memory_size_gb = 5
  }
}
