output "api_url" {
  description = "Base URL of the control plane API (IAM-authorized; set it as cicd.controlplane_api_url of the environments for the pipeline hand-off)."
  value       = module.controlplane.api_url
}

output "environments" {
  description = "The environments this stage manages (its role's scope)."
  value       = local.environments
}

output "registry_table_name" {
  description = "Registry table."
  value       = module.controlplane.registry_table_name
}

output "state_machine_arns" {
  description = "State machines by name."
  value       = module.controlplane.state_machine_arns
}

output "function_names" {
  description = "Lambda functions by function name of the app."
  value       = module.controlplane.function_names
}

output "lambda_role_arn" {
  description = "Role of every function."
  value       = module.controlplane.lambda_role_arn
}

output "rule_names" {
  description = "EventBridge rules and schedules by declared rule (controlplane/deployment.py)."
  value       = module.controlplane.rule_names
}

output "schedules" {
  description = "Schedule expressions in effect, by rule."
  value       = module.controlplane.schedules
}

output "operator_role_arns" {
  description = "Operator roles by name (dev-deployer, staging-operator, prod-operator, readonly): assume one to call the API."
  value       = module.operator_roles.role_arns
}

output "async_failures_queue_url" {
  description = "Queue holding the failed events of the asynchronous handlers (14 days; alarm cart-controlplane-<stage>-async-failures)."
  value       = module.controlplane.async_failures_queue_url
}
