output "api_url" {
  description = "Base URL of the control plane API (IAM-authorized; set it as controlplane_api_url of the environments for the pipeline hand-off)."
  value       = module.app.EndpointURL
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
  description = "Lambda functions by Chalice name."
  value       = module.app.function_names
}

output "lambda_role_arn" {
  description = "Role of every function."
  value       = module.controlplane.lambda_role_arn
}

output "nightly_teardown_rule_name" {
  description = "Nightly schedule rule (null until the app has a nightly_teardown function)."
  value       = module.controlplane.nightly_teardown_rule_name
}

output "ecr_push_rule_name" {
  description = "ECR push rule (null until the app has an on_ecr_push function)."
  value       = module.controlplane.ecr_push_rule_name
}

output "operator_role_arns" {
  description = "Operator roles by name (dev-deployer, staging-operator, prod-operator, readonly): assume one to call the API."
  value       = module.operator_roles.role_arns
}

output "async_failures_queue_url" {
  description = "Queue holding the failed events of the asynchronous handlers (14 days; alarm cart-controlplane-<stage>-async-failures)."
  value       = module.controlplane.async_failures_queue_url
}
