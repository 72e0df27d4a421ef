output "registry_table_name" {
  description = "Registry table (keys pk/sk, GSI gsi1 on gsi1pk/gsi1sk)."
  value       = aws_dynamodb_table.registry.name
}

output "registry_table_arn" {
  description = "Registry table ARN."
  value       = aws_dynamodb_table.registry.arn
}

output "lambda_role_arn" {
  description = "Execution role of every control plane function."
  value       = aws_iam_role.lambda.arn
}

output "states_role_arn" {
  description = "Role of the state machines."
  value       = aws_iam_role.states.arn
}

output "state_machine_arns" {
  description = "State machine ARNs by name (provision, build, deploy, destroy, and any other ASL file)."
  value       = { for k, m in aws_sfn_state_machine.this : k => m.arn }
}

output "state_machine_prefix" {
  description = "ARN prefix of the state machines (STATE_MACHINE_PREFIX of the functions)."
  value       = local.state_machine_arn
}

output "function_prefix" {
  description = "Prefix the ASL files' $${function_prefix} is rendered with."
  value       = local.function_prefix
}

output "nightly_teardown_rule_name" {
  description = "Nightly schedule rule, or null when no teardown function is packaged."
  value       = one(aws_cloudwatch_event_rule.nightly_teardown[*].name)
}

output "ecr_push_rule_name" {
  description = "ECR push rule, or null when no push handler is packaged."
  value       = one(aws_cloudwatch_event_rule.ecr_push[*].name)
}
