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

output "function_names" {
  description = "Lambda function names by function (cart-controlplane-<stage>-<function>)."
  value       = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "function_arns" {
  description = "Lambda function ARNs by function."
  value       = { for k, f in aws_lambda_function.this : k => f.arn }
}

output "rule_names" {
  description = "EventBridge rule names by declared rule (generated/events.json)."
  value       = { for k, r in aws_cloudwatch_event_rule.this : k => r.name }
}

output "schedules" {
  description = "The schedules' expressions in effect (declared, or this stage's override), by rule."
  value       = local.schedules
}

output "api_url" {
  description = "Base URL of the control API (SigV4): https://<id>.execute-api.<region>.amazonaws.com/<api_stage>."
  value       = aws_api_gateway_stage.api.invoke_url
}

output "rest_api_id" {
  description = "Id of the REST API."
  value       = aws_api_gateway_rest_api.api.id
}

output "rest_api_execution_arn" {
  description = "Execution ARN of the REST API (execute-api:Invoke grants name <it>/<stage>/<METHOD>/<path>)."
  value       = aws_api_gateway_rest_api.api.execution_arn
}

output "gateway_responses" {
  description = "API Gateway's own responses by type: status code and template (the API's error envelope)."
  value       = { for k, r in aws_api_gateway_gateway_response.this : k => { status_code = r.status_code, template = r.response_templates["application/json"] } }
}

output "lambda_policy" {
  description = "The functions' role policy as attached (rendered lambda-policy.json.tftpl)."
  value       = aws_iam_role_policy.lambda.policy
}

output "async_failures_queue_url" {
  description = "Queue of the asynchronous handlers' failed events (on-failure destination, 14 days)."
  value       = aws_sqs_queue.async_failures.id
}

output "async_failures_queue_arn" {
  description = "ARN of the failure queue."
  value       = aws_sqs_queue.async_failures.arn
}

output "alarm_topic_arn" {
  description = "SNS topic of the control plane's alarms."
  value       = aws_sns_topic.alarms.arn
}

output "async_invoke_configs" {
  description = "Asynchronous invocation settings by Chalice name: retries, maximum event age, on-failure destination."
  value = { for k, c in aws_lambda_function_event_invoke_config.async : k => {
    function_name                = c.function_name
    maximum_retry_attempts       = c.maximum_retry_attempts
    maximum_event_age_in_seconds = c.maximum_event_age_in_seconds
    on_failure                   = one(c.destination_config[0].on_failure[*].destination)
  } }
}
