output "cluster_name" {
  description = "GKE cluster name."
  value       = google_container_cluster.this.name
}

output "cluster_endpoint" {
  description = "IP of the Kubernetes API endpoint (reachable from master_authorized_networks only)."
  value       = google_container_cluster.this.endpoint
  sensitive   = true
}

output "cluster_ca_certificate" {
  description = "Base64 CA certificate of the Kubernetes API."
  value       = google_container_cluster.this.master_auth[0].cluster_ca_certificate
  sensitive   = true
}

output "location" {
  description = "Region of the cluster and of the managed databases."
  value       = google_container_cluster.this.location
}

output "network" {
  description = "Self link of the VPC."
  value       = google_compute_network.vpc.self_link
}

output "subnetwork" {
  description = "Self link of the nodes' subnet."
  value       = google_compute_subnetwork.nodes.self_link
}

output "workload_identity_pool" {
  description = "Workload Identity pool of the cluster (PROJECT.svc.id.goog)."
  value       = "${var.project_id}.svc.id.goog"
}

output "cpu_node_pool_name" {
  description = "Name of the CPU node pool (node label ias.io/pool=cpu)."
  value       = google_container_node_pool.cpu.name
}

output "gpu_node_pool_name" {
  description = "Name of the GPU node pool (node label ias.io/pool=gpu, taint nvidia.com/gpu=present:NoSchedule)."
  value       = google_container_node_pool.gpu.name
}

output "node_service_account" {
  description = "Email of the least-privilege node service account."
  value       = google_service_account.nodes.email
}

output "postgres_private_ip" {
  description = "Private IP of the Cloud SQL instance (port 5432, TLS required)."
  value       = google_sql_database_instance.postgres.private_ip_address
}

output "postgres_connection_name" {
  description = "Cloud SQL connection name (PROJECT:REGION:INSTANCE), for the Cloud SQL Auth Proxy if used."
  value       = google_sql_database_instance.postgres.connection_name
}

output "postgres_database" {
  description = "Name of the application database."
  value       = google_sql_database.ias.name
}

output "postgres_user" {
  description = "Name of the application database user."
  value       = google_sql_user.ias.name
}

output "postgres_password_secret_id" {
  description = "Secret Manager secret holding the Postgres user's password (the password itself is never output)."
  value       = google_secret_manager_secret.this["postgres-password"].id
}

output "database_url_secret_id" {
  description = "Secret Manager secret holding the full DSN (postgresql://...?sslmode=require) for the ias-database Secret, key url."
  value       = google_secret_manager_secret.this["database-url"].id
}

output "redis_host" {
  description = "Private IP of the Memorystore primary endpoint."
  value       = google_redis_instance.this.host
}

output "redis_port" {
  description = "Port of Memorystore (6378 with TLS)."
  value       = google_redis_instance.this.port
}

output "redis_auth_secret_id" {
  description = "Secret Manager secret holding the Redis AUTH string."
  value       = google_secret_manager_secret.this["redis-auth"].id
}

output "redis_url_secret_id" {
  description = "Secret Manager secret holding the full rediss:// URL for the ias-redis Secret, key url."
  value       = google_secret_manager_secret.this["redis-url"].id
}

output "redis_ca_certificate" {
  description = "PEM of the Memorystore server CA; mount it at redis_ca_cert_path (it is public, not a secret)."
  value       = google_redis_instance.this.server_ca_certs[0].cert
}

output "secret_reader_service_account" {
  description = "Google service account to annotate the secret reader's Kubernetes service account with (iam.gke.io/gcp-service-account); null when secret_reader is empty."
  value       = one(google_service_account.secrets[*].email)
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig entry for the cluster."
  value       = "gcloud container clusters get-credentials ${google_container_cluster.this.name} --region ${var.region} --project ${var.project_id}"
}
