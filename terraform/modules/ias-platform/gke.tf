# Node service account: only what a node needs (write logs/metrics, pull images), never the
# Compute Engine default account with Editor. Workloads get their own identities (Workload Identity).
resource "google_service_account" "nodes" {
  project      = var.project_id
  account_id   = "${local.name}-nodes"
  display_name = "IAS ${var.environment} GKE nodes"
  depends_on   = [google_project_service.apis]
}

resource "google_project_iam_member" "nodes" {
  for_each = toset([
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/artifactregistry.reader",
  ])
  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.nodes.email}"
}

locals {
  # Shared by both pools and the short-lived default pool.
  node_oauth_scopes = ["https://www.googleapis.com/auth/cloud-platform"] # access is bounded by IAM, not scopes
}

resource "google_container_cluster" "this" {
  project  = var.project_id
  name     = local.name
  location = var.region # regional: the control plane is replicated across the region's zones

  network         = google_compute_network.vpc.id
  subnetwork      = google_compute_subnetwork.nodes.id
  networking_mode = "VPC_NATIVE"
  ip_allocation_policy {
    cluster_secondary_range_name  = "pods"
    services_secondary_range_name = "services"
  }

  # Node pools are separate resources below; the default pool is created then deleted.
  remove_default_node_pool = true
  initial_node_count       = 1
  # Hardening of the default pool for the minutes it exists (pools carry their own node_config).
  node_config {
    service_account = google_service_account.nodes.email
    oauth_scopes    = local.node_oauth_scopes
    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }
    workload_metadata_config {
      mode = "GKE_METADATA"
    }
  }

  deletion_protection = var.deletion_protection
  resource_labels     = local.labels

  release_channel {
    channel = var.release_channel
  }

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = false # the API is public but reachable only from master_authorized_networks
    master_ipv4_cidr_block  = var.master_ipv4_cidr
    master_global_access_config {
      enabled = false
    }
  }

  master_authorized_networks_config {
    dynamic "cidr_blocks" {
      for_each = var.master_authorized_networks
      content {
        cidr_block   = cidr_blocks.value.cidr_block
        display_name = cidr_blocks.value.display_name
      }
    }
  }

  master_auth {
    client_certificate_config {
      issue_client_certificate = false
    }
  }

  # Kubernetes RBAC bound to Google Groups (gke-security-groups@DOMAIN) when the organisation has
  # Google Workspace / Cloud Identity groups; off when var.rbac_security_group is empty.
  dynamic "authenticator_groups_config" {
    for_each = var.rbac_security_group == "" ? [] : [var.rbac_security_group]
    content {
      security_group = authenticator_groups_config.value
    }
  }

  workload_identity_config {
    workload_pool = "${var.project_id}.svc.id.goog"
  }

  # Dataplane V2 (eBPF/Cilium) enforces the chart's NetworkPolicies by itself; the Calico
  # network_policy add-on must stay disabled with it.
  datapath_provider = "ADVANCED_DATAPATH"
  network_policy {
    enabled = false
  }

  enable_shielded_nodes       = true
  enable_intranode_visibility = true
  enable_legacy_abac          = false

  binary_authorization {
    evaluation_mode = "PROJECT_SINGLETON_POLICY_ENFORCE"
  }

  addons_config {
    http_load_balancing {
      disabled = false
    }
    horizontal_pod_autoscaling {
      disabled = false
    }
    gce_persistent_disk_csi_driver_config {
      enabled = true # PVCs of NATS JetStream and ClickHouse
    }
  }

  logging_service    = "logging.googleapis.com/kubernetes"
  monitoring_service = "monitoring.googleapis.com/kubernetes"
  logging_config {
    enable_components = ["SYSTEM_COMPONENTS", "WORKLOADS"]
  }
  monitoring_config {
    enable_components = ["SYSTEM_COMPONENTS", "DEPLOYMENT", "STATEFULSET", "POD"]
    managed_prometheus {
      enabled = true # scrapes the ServiceMonitors'/PodMonitorings' targets, incl. vLLM and Ray metrics
    }
  }

  maintenance_policy {
    recurring_window {
      start_time = "2024-01-06T00:00:00Z" # 8 h on Saturdays and Sundays (GKE wants >= 48 h per 32 days)
      end_time   = "2024-01-06T08:00:00Z"
      recurrence = "FREQ=WEEKLY;BYDAY=SA,SU"
    }
  }

  lifecycle {
    # The default pool's node_config is only used at creation.
    ignore_changes = [node_config, initial_node_count]
  }

  depends_on = [google_project_service.apis, google_project_iam_member.nodes]
}

resource "google_container_node_pool" "cpu" {
  project  = var.project_id
  name     = "cpu"
  location = var.region
  cluster  = google_container_cluster.this.id

  autoscaling {
    min_node_count = var.cpu_node_pool.min_count
    max_node_count = var.cpu_node_pool.max_count
  }

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  upgrade_settings {
    max_surge       = 1
    max_unavailable = 0
  }

  node_config {
    machine_type    = var.cpu_node_pool.machine_type
    image_type      = "COS_CONTAINERD"
    disk_type       = "pd-balanced"
    disk_size_gb    = var.cpu_node_pool.disk_size_gb
    service_account = google_service_account.nodes.email
    oauth_scopes    = local.node_oauth_scopes
    labels          = { "ias.io/pool" = "cpu" }
    resource_labels = local.labels

    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }
    workload_metadata_config {
      mode = "GKE_METADATA"
    }
    gcfs_config {
      enabled = true # image streaming
    }
  }
}

resource "google_container_node_pool" "gpu" {
  project        = var.project_id
  name           = "gpu"
  location       = var.region
  cluster        = google_container_cluster.this.id
  node_locations = length(var.gpu_node_pool.node_locations) > 0 ? var.gpu_node_pool.node_locations : null

  autoscaling {
    min_node_count = var.gpu_node_pool.min_count # 0: no GPU bill while no engine is scheduled
    max_node_count = var.gpu_node_pool.max_count
  }

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  upgrade_settings {
    max_surge       = 1
    max_unavailable = 0
  }

  node_config {
    machine_type    = var.gpu_node_pool.machine_type
    image_type      = "COS_CONTAINERD"
    disk_type       = "pd-ssd"
    disk_size_gb    = var.gpu_node_pool.disk_size_gb
    spot            = var.gpu_node_pool.spot
    service_account = google_service_account.nodes.email
    oauth_scopes    = local.node_oauth_scopes
    labels          = { "ias.io/pool" = "gpu" }
    resource_labels = local.labels

    guest_accelerator {
      type  = var.gpu_node_pool.accelerator_type
      count = var.gpu_node_pool.accelerator_count
      gpu_driver_installation_config {
        gpu_driver_version = "LATEST" # GKE installs the NVIDIA driver; no driver DaemonSet to run
      }
    }

    # Only pods that tolerate the GPU (the Ray GPU worker group) land here.
    taint {
      key    = "nvidia.com/gpu"
      value  = "present"
      effect = "NO_SCHEDULE"
    }

    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }
    workload_metadata_config {
      mode = "GKE_METADATA"
    }
    gcfs_config {
      enabled = true # image streaming: the multi-GB vLLM image starts before it is fully pulled
    }
  }
}
