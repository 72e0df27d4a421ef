# Offline checks of the control plane module (mocked provider, plan only), with the repository's ASL files.

mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  stage             = "dev"
  environments      = ["dev"]
  package_dir       = "../../tests/package"
  state_machine_dir = "../../../statemachines"
  kms_key_arn       = "arn:aws:kms:eu-central-1:123456789012:key/11111111-2222-3333-4444-555555555555"
}

run "state_machines" {
  command = plan

  assert {
    condition = (
      alltrue([for k in ["provision", "build", "deploy", "destroy"] : contains(keys(aws_sfn_state_machine.this), k)]) &&
      length(aws_sfn_state_machine.this) == length(fileset(var.state_machine_dir, "*.asl.json")) &&
      alltrue([for m in aws_sfn_state_machine.this : m.type == "STANDARD"])
    )
    error_message = "Every ASL file (provision, build, deploy, destroy at least) must be a STANDARD state machine."
  }

  assert {
    condition     = alltrue([for k, m in aws_sfn_state_machine.this : m.name == "cart-controlplane-dev-${k}"])
    error_message = "State machines are named cart-controlplane-<stage>-<name>."
  }

  assert {
    condition     = alltrue([for m in aws_sfn_state_machine.this : m.tracing_configuration[0].enabled])
    error_message = "X-Ray tracing must be on."
  }

  assert {
    condition     = alltrue([for m in aws_sfn_state_machine.this : m.logging_configuration[0].level == "ALL" && m.logging_configuration[0].include_execution_data])
    error_message = "Execution logging must be on."
  }

  assert {
    condition = alltrue([for m in aws_sfn_state_machine.this :
      !strcontains(m.definition, "$${function_prefix}") && strcontains(m.definition, "cart-controlplane-dev-step_")
    ])
    error_message = "Definitions must be rendered with function_prefix = cart-controlplane-<stage>-."
  }

  assert {
    condition = alltrue([for m in aws_sfn_state_machine.this :
      alltrue([for s in values(jsondecode(m.definition).States) : lookup(s, "Type", "") != "Task" || startswith(lookup(s, "Resource", ""), "arn:aws:states:::lambda:invoke")])
    ])
    error_message = "Task states invoke Lambda through arn:aws:states:::lambda:invoke (optionally .waitForTaskToken)."
  }
}

run "registry_table" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.registry.name == "cart-controlplane-dev-registry" && aws_dynamodb_table.registry.hash_key == "pk" && aws_dynamodb_table.registry.range_key == "sk"
    error_message = "Registry table: cart-controlplane-<stage>-registry with keys pk/sk."
  }

  assert {
    condition     = one([for g in aws_dynamodb_table.registry.global_secondary_index : g if g.name == "gsi1"]).hash_key == "gsi1pk"
    error_message = "GSI gsi1 on gsi1pk/gsi1sk."
  }

  assert {
    condition     = aws_dynamodb_table.registry.point_in_time_recovery[0].enabled
    error_message = "PITR on."
  }
}

run "functions_follow_the_declaration" {
  command = plan

  assert {
    condition = (
      toset(keys(aws_lambda_function.this)) == toset(keys(jsondecode(file("generated/functions.json")).functions)) &&
      alltrue([for k, f in aws_lambda_function.this :
        f.function_name == "cart-controlplane-dev-${k}" &&
        f.handler == jsondecode(file("generated/functions.json")).functions[k].handler &&
        f.timeout == jsondecode(file("generated/functions.json")).functions[k].timeout &&
        f.memory_size == jsondecode(file("generated/functions.json")).memory_mb &&
        f.runtime == jsondecode(file("generated/functions.json")).runtime
      ])
    )
    error_message = "One function cart-controlplane-<stage>-<name> per generated/functions.json entry, with its handler, timeout, memory and runtime."
  }

  assert {
    condition = alltrue([for f in aws_lambda_function.this :
      f.environment[0].variables.CONTROLPLANE_STAGE == "dev" &&
      f.environment[0].variables.CONTROLPLANE_ENVIRONMENTS == "dev" &&
      f.environment[0].variables.REGISTRY_TABLE == "cart-controlplane-dev-registry" &&
      f.environment[0].variables.STATE_MACHINE_PREFIX == "arn:aws:states:eu-central-1:123456789012:stateMachine:cart-controlplane-dev-" &&
      f.environment[0].variables.NIGHTLY_TEARDOWN_SCHEDULE == "cron(0 20 ? * MON-FRI *)" &&
      f.environment[0].variables.POWERTOOLS_LOG_LEVEL == "DEBUG" &&
      f.tracing_config[0].mode == "Active" && f.kms_key_arn == var.kms_key_arn
    ])
    error_message = "Every function knows its stage, the environments it manages, the registry and the state machines; X-Ray; environment encrypted with the stage's key."
  }

  assert {
    condition     = alltrue([for k, g in aws_cloudwatch_log_group.functions : g.name == "/aws/lambda/cart-controlplane-dev-${k}" && g.retention_in_days == 30])
    error_message = "Each function's log group is Terraform's (retention, KMS, deleted with the stack)."
  }
}

run "rules_follow_the_declaration" {
  command = plan

  variables {
    schedule_overrides = { nightly-teardown = "cron(0 18 ? * MON-FRI *)" }
  }

  assert {
    condition = (
      toset(keys(aws_cloudwatch_event_rule.this)) == toset(keys(jsondecode(file("generated/events.json")).rules)) &&
      alltrue([for k, r in aws_cloudwatch_event_rule.this : r.name == "cart-controlplane-dev-${k}"])
    )
    error_message = "One rule cart-controlplane-<stage>-<rule> per generated/events.json entry (and no other)."
  }

  assert {
    condition = alltrue([for k, d in jsondecode(file("generated/events.json")).rules :
      d.event_pattern == null ? aws_cloudwatch_event_rule.this[k].event_pattern == null : jsondecode(aws_cloudwatch_event_rule.this[k].event_pattern) == d.event_pattern
    ])
    error_message = "Each event rule matches exactly the declared pattern."
  }

  assert {
    condition = (
      aws_cloudwatch_event_rule.this["nightly-teardown"].schedule_expression == "cron(0 18 ? * MON-FRI *)" &&
      aws_cloudwatch_event_rule.this["reconcile"].schedule_expression == "rate(5 minutes)" &&
      aws_lambda_function.this["nightly_teardown"].environment[0].variables.NIGHTLY_TEARDOWN_SCHEDULE == "cron(0 18 ? * MON-FRI *)"
    )
    error_message = "A stage may override a schedule; the others keep the declared expression; the reminder knows the teardown's time."
  }

  assert {
    condition = alltrue([for k, d in jsondecode(file("generated/events.json")).rules :
      aws_cloudwatch_event_target.this[k].retry_policy[0].maximum_retry_attempts == 10 &&
      aws_cloudwatch_event_target.this[k].retry_policy[0].maximum_event_age_in_seconds == 3600 &&
      aws_lambda_permission.rules[k].principal == "events.amazonaws.com" &&
      aws_lambda_permission.rules[k].function_name == "cart-controlplane-dev-${d.function}"
    ])
    error_message = "Every rule's target retries (10 times, 1 hour) and EventBridge may invoke exactly the declared function."
  }
}

run "a_missing_package_stops_the_plan" {
  command = plan

  variables {
    package_dir = "./no-package-here"
  }

  expect_failures = [aws_lambda_function.this]
}

run "least_privilege" {
  # apply (mocked): the registry's and the queue's ARNs are known after apply
  command = apply

  variables {
    environments = ["dev", "qa"]
  }

  # ecs:DeregisterTaskDefinition has no resource-level permission (it only marks a revision INACTIVE;
  # DeleteTaskDefinitions, which deletes, is scoped); neither do the task-token calls (resolving a waiting step).
  assert {
    condition = alltrue(flatten([for doc in [jsondecode(aws_iam_role_policy.lambda.policy), jsondecode(aws_iam_role_policy.states.policy)] : [
      for s in doc.Statement : s.Resource != "*" && !contains(flatten([s.Resource]), "*")
      if anytrue([for a in flatten([s.Action]) : can(regex(":(Delete|Deregister|BatchDelete|Remove|Terminate|Stop|Update|Create|Put|Register|Send)", a)) && !contains(["ecs:DeregisterTaskDefinition", "states:SendTaskSuccess", "states:SendTaskFailure", "xray:PutTraceSegments", "xray:PutTelemetryRecords"], a)])
    ]]))
    error_message = "No changing action may have Resource \"*\" (but those AWS cannot scope: ecs:DeregisterTaskDefinition, the task-token calls, X-Ray)."
  }

  assert {
    condition = alltrue([for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement :
      !strcontains(jsonencode(s), "prod") && !strcontains(jsonencode(s), "cart-service-*/") && !strcontains(jsonencode(s), "ecommerce-*")
    ])
    error_message = "A stage managing dev and qa names neither prod nor any environment by wildcard."
  }

  assert {
    condition = (
      one([for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s.Resource if s.Sid == "EcsServices"]) == [
        "arn:aws:ecs:eu-central-1:123456789012:service/ecommerce-dev/cart-service-dev",
        "arn:aws:ecs:eu-central-1:123456789012:service/ecommerce-qa/cart-service-qa",
      ]
    )
    error_message = "ECS services: exactly cart-service-<env> in ecommerce-<env>, for each managed environment."
  }

  assert {
    condition = (
      one([for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s.Condition if s.Sid == "ManageScalableTargets"]).StringEquals["aws:ResourceTag/cart:environment"] == ["dev", "qa"]
    )
    error_message = "Scalable targets (generated ARNs) are scoped by their cart:environment tag."
  }

  assert {
    condition     = length(aws_iam_role_policy.lambda.policy) <= 10240
    error_message = "The role's inline policy must fit AWS's 10,240 characters."
  }

  assert {
    condition = alltrue([for doc in [data.aws_iam_policy_document.lambda_assume, data.aws_iam_policy_document.states_assume] :
      length([for c in doc.statement[0].condition : c if c.variable == "aws:SourceAccount"]) == 1 &&
      length([for c in doc.statement[0].condition : c if c.variable == "aws:SourceArn"]) == 1
    ])
    error_message = "Trust policies must be conditioned on aws:SourceAccount and aws:SourceArn."
  }

  assert {
    condition     = !anytrue([for s in data.aws_iam_policy_document.states.statement : contains(s.actions, "logs:DeleteLogDelivery")])
    error_message = "The state machine role must not get logs:DeleteLogDelivery (it would need Resource \"*\")."
  }
}

run "at_most_four_environments" {
  command = plan

  variables {
    environments = ["a1", "b2", "c3", "d4", "e5"]
  }

  expect_failures = [var.environments]
}

run "gateway_responses_use_the_error_envelope" {
  command = plan

  assert {
    condition = alltrue([for t in ["DEFAULT_4XX", "DEFAULT_5XX", "MISSING_AUTHENTICATION_TOKEN", "ACCESS_DENIED", "THROTTLED", "INTEGRATION_TIMEOUT"] :
      contains(keys(aws_api_gateway_gateway_response.this), t)
    ])
    error_message = "API Gateway's default 4xx and 5xx and the specific refusals are customised."
  }

  # Each template, with API Gateway's variables replaced by what it substitutes ($context.error.messageString is
  # already a quoted JSON string), is the API's envelope {"error": {"code", "message"}}.
  assert {
    condition = alltrue([for k, r in aws_api_gateway_gateway_response.this :
      keys(jsondecode(replace(replace(r.response_templates["application/json"], "$context.error.messageString", "\"Forbidden\""), "$context.error.responseType", k))) == ["error"] &&
      toset(keys(jsondecode(replace(replace(r.response_templates["application/json"], "$context.error.messageString", "\"Forbidden\""), "$context.error.responseType", k)).error)) == toset(["code", "message"])
    ])
    error_message = "Every gateway response renders the error envelope."
  }

  assert {
    condition = (
      strcontains(aws_api_gateway_gateway_response.this["DEFAULT_4XX"].response_templates["application/json"], "\"code\":\"$context.error.responseType\"") &&
      strcontains(aws_api_gateway_gateway_response.this["DEFAULT_5XX"].response_templates["application/json"], "\"message\":$context.error.messageString") &&
      strcontains(aws_api_gateway_gateway_response.this["THROTTLED"].response_templates["application/json"], "\"code\":\"TooManyRequests\"") &&
      aws_api_gateway_gateway_response.this["THROTTLED"].status_code == "429" &&
      strcontains(aws_api_gateway_gateway_response.this["ACCESS_DENIED"].response_templates["application/json"], "\"code\":\"AccessDenied\"") &&
      aws_api_gateway_gateway_response.this["MISSING_AUTHENTICATION_TOKEN"].status_code == "403"
    )
    error_message = "The defaults name their response type; throttling is 429 TooManyRequests; an IAM denial is 403 AccessDenied."
  }

  assert {
    condition     = aws_api_gateway_stage.api.stage_name == "api" && aws_api_gateway_stage.api.xray_tracing_enabled
    error_message = "One stage, api, with X-Ray."
  }
}

run "async_failures_have_a_destination" {
  command = apply

  assert {
    condition = (
      aws_sqs_queue.async_failures.name == "cart-controlplane-dev-async-failures" &&
      aws_sqs_queue.async_failures.message_retention_seconds == 1209600 &&
      aws_sqs_queue.async_failures.kms_master_key_id == var.kms_key_arn
    )
    error_message = "The failure queue keeps 14 days and is encrypted with the control plane's key."
  }

  assert {
    condition = alltrue([for k, c in aws_lambda_function_event_invoke_config.async :
      c.function_name == "cart-controlplane-dev-${k}" && c.maximum_retry_attempts == 2 && c.maximum_event_age_in_seconds == 3600 &&
      c.destination_config[0].on_failure[0].destination == aws_sqs_queue.async_failures.arn
    ]) && toset(keys(aws_lambda_function_event_invoke_config.async)) == toset(distinct([for r in jsondecode(file("generated/events.json")).rules : r.function]))
    error_message = "Each function a rule invokes (and only those): 2 retries, 1 hour, on-failure destination the queue."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.async_failures.metric_name == "ApproximateNumberOfMessagesVisible" &&
      aws_cloudwatch_metric_alarm.async_failures.dimensions.QueueName == aws_sqs_queue.async_failures.name &&
      aws_cloudwatch_metric_alarm.async_failures.threshold == 1 &&
      contains(aws_cloudwatch_metric_alarm.async_failures.alarm_actions, aws_sns_topic.alarms.arn)
    )
    error_message = "An alarm fires as soon as the queue holds a visible message."
  }

  assert {
    condition     = anytrue([for s in jsondecode(aws_iam_role_policy.lambda.policy).Statement : s.Action == ["sqs:SendMessage"] && s.Resource == "arn:aws:sqs:eu-central-1:123456789012:${aws_sqs_queue.async_failures.name}"])
    error_message = "The Lambda role may send to the failure queue (Lambda delivers with it)."
  }

  assert {
    condition     = alltrue([for t in aws_cloudwatch_event_target.this : t.dead_letter_config[0].arn == aws_sqs_queue.async_failures.arn])
    error_message = "Events EventBridge cannot deliver to a rule's target land in the same queue."
  }
}
