output "alb_dns_name" {
  description = "Public DNS name of the environment's load balancer."
  value       = module.alb.alb_dns_name
}

output "ecr_repository_url" {
  description = "Image repository URL (docker push target)."
  value       = module.ecr.repository_url
}

output "notification_topic_arn" {
  description = "SNS topic cart-service-<env>-notifications: the control plane publishes every operation's end there (contract: notification_topic_arn)."
  value       = aws_sns_topic.notifications.arn
}

output "dynamodb_table_name" {
  description = "Cart data table."
  value       = module.dynamodb.table_name
}

output "codestar_connection_status" {
  description = "PENDING until the connection is authorized once in the console, then AVAILABLE; null when enable_cicd = false."
  value       = module.cicd.codestar_connection_status
}

output "codestar_connection_arn" {
  description = "Connection used by the pipeline (created or reused); null when enable_cicd = false."
  value       = module.cicd.codestar_connection_arn
}

output "codestar_connection_name" {
  description = "Name of the connection created by this root (null when reused or disabled)."
  value       = module.cicd.codestar_connection_name
}

output "pipeline_name" {
  description = "CodePipeline of the environment; null when enable_cicd = false."
  value       = module.cicd.pipeline_name
}

output "cluster_name" {
  description = "ECS cluster."
  value       = module.ecs.cluster_name
}

output "service_name" {
  description = "ECS service the control plane creates in the cluster (contract: service_name)."
  value       = local.service_name
}

output "target_group_arn" {
  description = "Target group the control plane attaches the service to."
  value       = module.alb.target_group_arn
}

output "image_project_name" {
  description = "CodeBuild project the control plane's build starts."
  value       = module.cicd.image_project_name
}

output "contract_parameter_name" {
  description = "SSM parameter holding the environment contract (docs/contract.md)."
  value       = module.contract.parameter_name
}

output "contract" {
  description = "The published contract document."
  value       = module.contract.document
}

output "nat_gateway_count" {
  description = "NAT gateways of the VPC (settings table: single or one per AZ)."
  value       = length(module.vpc.nat_gateway_ids)
}

output "settings" {
  description = "The settings-table row this environment was built with."
  value       = var.settings
}

output "pipeline_branch" {
  description = "Branch whose pushes run the pipeline (the tier's default unless cicd.branch is set)."
  value       = local.pipeline_branch
}

output "dynamodb_billing_mode" {
  description = "Billing mode of the cart table: PAY_PER_REQUEST (on-demand) or PROVISIONED."
  value       = module.dynamodb.billing_mode
}

output "dynamodb_autoscaling" {
  description = "Whether the cart table's provisioned capacity autoscales."
  value       = module.dynamodb.autoscaling_enabled
}

output "fargate_spot_weight" {
  description = "FARGATE_SPOT weight of the cluster's default capacity provider strategy (0: on-demand only)."
  value       = local.s.fargate_spot ? 3 : 0
}

output "pipeline_approval" {
  description = "Whether the pipeline waits for a manual approval before the hand-off (prod by default)."
  value       = var.cicd.enabled ? local.approval_required : null
}

output "handoff_role_arn" {
  description = "Role of the pipeline's HandOff project (this environment's deployment and operation routes of the control plane API only); null without CI/CD."
  value       = module.cicd.handoff_role_arn
}
