output "alb_dns_name" {
  description = "Public DNS name of the environment's load balancer."
  value       = module.environment.alb_dns_name
}

output "ecr_repository_url" {
  description = "Image repository URL (docker push target)."
  value       = module.environment.ecr_repository_url
}

output "dynamodb_table_name" {
  description = "Cart data table."
  value       = module.environment.dynamodb_table_name
}

output "notification_topic_arn" {
  description = "SNS topic of the environment's operation notifications (cart-service-<env>-notifications)."
  value       = module.environment.notification_topic_arn
}

output "codestar_connection_status" {
  description = "PENDING until the connection is authorized once in the console, then AVAILABLE; null without CI/CD."
  value       = module.environment.codestar_connection_status
}

output "codestar_connection_arn" {
  description = "Connection used by the pipeline (created or reused); null without CI/CD."
  value       = module.environment.codestar_connection_arn
}

output "codestar_connection_name" {
  description = "Name of the connection created here (null when reused or without CI/CD)."
  value       = module.environment.codestar_connection_name
}

output "pipeline_name" {
  description = "CodePipeline of the environment; null without CI/CD."
  value       = module.environment.pipeline_name
}

output "cluster_name" {
  description = "ECS cluster."
  value       = module.environment.cluster_name
}

output "contract_parameter_name" {
  description = "SSM parameter holding the environment contract (docs/contract.md)."
  value       = module.environment.contract_parameter_name
}

output "contract" {
  description = "The published contract document."
  value       = module.environment.contract
}
