output "cluster_name" {
  description = "GKE cluster name."
  value       = module.platform.cluster_name
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint."
  value       = module.platform.cluster_endpoint
  sensitive   = true
}

output "location" {
  description = "Region of the cluster and databases."
  value       = module.platform.location
}

output "network" {
  description = "VPC self link."
  value       = module.platform.network
}

output "cpu_node_pool_name" {
  description = "CPU node pool name."
  value       = module.platform.cpu_node_pool_name
}

output "gpu_node_pool_name" {
  description = "GPU node pool name."
  value       = module.platform.gpu_node_pool_name
}

output "postgres_private_ip" {
  description = "Private IP of Cloud SQL for PostgreSQL."
  value       = module.platform.postgres_private_ip
}

output "postgres_connection_name" {
  description = "Cloud SQL connection name."
  value       = module.platform.postgres_connection_name
}

output "postgres_password_secret_id" {
  description = "Secret Manager secret with the Postgres password."
  value       = module.platform.postgres_password_secret_id
}

output "database_url_secret_id" {
  description = "Secret Manager secret with the DSN for the ias-database Secret (key url)."
  value       = module.platform.database_url_secret_id
}

output "redis_host" {
  description = "Memorystore host."
  value       = module.platform.redis_host
}

output "redis_port" {
  description = "Memorystore port (TLS)."
  value       = module.platform.redis_port
}

output "redis_auth_secret_id" {
  description = "Secret Manager secret with the Redis AUTH string."
  value       = module.platform.redis_auth_secret_id
}

output "redis_url_secret_id" {
  description = "Secret Manager secret with the URL for the ias-redis Secret (key url)."
  value       = module.platform.redis_url_secret_id
}

output "redis_ca_certificate" {
  description = "Memorystore server CA (PEM, public)."
  value       = module.platform.redis_ca_certificate
}

output "secret_reader_service_account" {
  description = "GSA for the External Secrets Operator's KSA annotation."
  value       = module.platform.secret_reader_service_account
}

output "kubeconfig_command" {
  description = "gcloud command that writes the kubeconfig entry."
  value       = module.platform.kubeconfig_command
}
