# ---- Cloud SQL for PostgreSQL: private IP only, TLS required, backups + PITR ----

resource "google_sql_database_instance" "postgres" {
  # checkov:skip=CKV_GCP_6: ssl_mode = ENCRYPTED_ONLY rejects every unencrypted connection; checkov only accepts TRUSTED_CLIENT_CERTIFICATE_REQUIRED (mutual TLS), which would need a client certificate per pod that the asyncpg DSN does not carry. The instance has no public IP and is reachable only through the VPC peering.
  project             = var.project_id
  name                = "${local.name}-pg"
  region              = var.region
  database_version    = var.postgres_version
  deletion_protection = var.deletion_protection

  settings {
    edition                     = "ENTERPRISE"
    tier                        = var.postgres.tier
    availability_type           = var.postgres.availability_type
    disk_type                   = "PD_SSD"
    disk_size                   = var.postgres.disk_size_gb
    disk_autoresize             = true
    deletion_protection_enabled = var.deletion_protection
    user_labels                 = local.labels

    ip_configuration {
      ipv4_enabled                                  = false
      private_network                               = google_compute_network.vpc.id
      ssl_mode                                      = "ENCRYPTED_ONLY"
      enable_private_path_for_google_cloud_services = true
    }

    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
      start_time                     = "02:00"
      transaction_log_retention_days = 7
      backup_retention_settings {
        retained_backups = var.postgres.backup_retention
      }
    }

    maintenance_window {
      day          = 7
      hour         = 3
      update_track = "stable"
    }

    insights_config {
      query_insights_enabled  = true
      record_application_tags = false
      record_client_address   = false
    }

    # Audit/diagnostic logging flags (CIS PostgreSQL benchmark, as checkov checks them).
    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }
    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_duration"
      value = "on"
    }
    database_flags {
      name  = "log_executor_stats"
      value = "off"
    }
    database_flags {
      name  = "log_hostname"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "log_min_messages"
      value = "error"
    }
    database_flags {
      name  = "log_parser_stats"
      value = "off"
    }
    database_flags {
      name  = "log_planner_stats"
      value = "off"
    }
    database_flags {
      name  = "log_statement"
      value = "ddl"
    }
    database_flags {
      name  = "log_statement_stats"
      value = "off"
    }
    database_flags {
      name  = "log_temp_files"
      value = "0"
    }
  }

  depends_on = [google_service_networking_connection.psa]
}

resource "google_sql_database" "ias" {
  project  = var.project_id
  name     = var.postgres.database_name
  instance = google_sql_database_instance.postgres.name
}

resource "random_password" "postgres" {
  length  = 40
  special = false # URL-safe: it goes into a DSN unescaped; 40 alphanumerics are ~238 bits
}

resource "google_sql_user" "ias" {
  project  = var.project_id
  name     = var.postgres.user_name
  instance = google_sql_database_instance.postgres.name
  password = random_password.postgres.result

  # The user owns the schema's objects; Postgres refuses to drop it, so destroy just forgets it.
  deletion_policy = "ABANDON"
}

# ---- Memorystore for Redis: HA, private service access, AUTH + TLS ----

resource "google_redis_instance" "this" {
  project                 = var.project_id
  name                    = "${local.name}-redis"
  region                  = var.region
  tier                    = "STANDARD_HA"
  memory_size_gb          = var.redis.memory_size_gb
  redis_version           = var.redis.version
  authorized_network      = google_compute_network.vpc.id
  connect_mode            = "PRIVATE_SERVICE_ACCESS"
  auth_enabled            = true
  transit_encryption_mode = "SERVER_AUTHENTICATION"
  labels                  = local.labels

  persistence_config {
    persistence_mode    = "RDB"
    rdb_snapshot_period = "ONE_HOUR"
  }

  maintenance_policy {
    weekly_maintenance_window {
      day = "SUNDAY"
      start_time {
        hours   = 3
        minutes = 0
      }
    }
  }

  depends_on = [google_service_networking_connection.psa]
}

# ---- Secret Manager: the credentials and the ready-made DSNs the Helm chart's Secrets need ----

locals {
  postgres_password = random_password.postgres.result
  secrets = {
    "postgres-password" = local.postgres_password
    "database-url" = format(
      "postgresql://%s:%s@%s:5432/%s?sslmode=require",
      google_sql_user.ias.name, local.postgres_password,
      google_sql_database_instance.postgres.private_ip_address, google_sql_database.ias.name,
    )
    "redis-auth" = google_redis_instance.this.auth_string
    "redis-url" = format(
      "rediss://:%s@%s:%d/0?ssl_ca_certs=%s",
      google_redis_instance.this.auth_string, google_redis_instance.this.host,
      google_redis_instance.this.port, var.redis_ca_cert_path,
    )
  }
}

resource "google_secret_manager_secret" "this" {
  for_each  = toset(["postgres-password", "database-url", "redis-auth", "redis-url"])
  project   = var.project_id
  secret_id = "${local.name}-${each.key}"
  labels    = local.labels

  replication {
    user_managed {
      replicas {
        location = var.region
      }
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "this" {
  for_each    = google_secret_manager_secret.this
  secret      = each.value.id
  secret_data = local.secrets[each.key]
}

# A Google service account for the secret reader (External Secrets Operator), bound to its
# Kubernetes service account through Workload Identity; read access to these secrets only.
resource "google_service_account" "secrets" {
  count        = var.secret_reader == "" ? 0 : 1
  project      = var.project_id
  account_id   = "${local.name}-secrets"
  display_name = "IAS ${var.environment} secret reader (Workload Identity)"
}

resource "google_secret_manager_secret_iam_member" "reader" {
  for_each  = { for k, s in google_secret_manager_secret.this : k => s.secret_id if var.secret_reader != "" }
  project   = var.project_id
  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.secrets[0].email}"
}

resource "google_service_account_iam_member" "secrets_workload_identity" {
  count              = var.secret_reader == "" ? 0 : 1
  service_account_id = google_service_account.secrets[0].name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.project_id}.svc.id.goog[${var.secret_reader}]"
  depends_on         = [google_container_cluster.this] # the identity pool exists once the cluster does
}
