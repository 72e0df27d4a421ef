# Offline checks of the control plane module (mocked provider, plan only), with the repository's ASL files.

mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  stage             = "dev"
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

run "least_privilege" {
  # apply (mocked): the policy resources include ARNs that are only known after apply
  command = apply

  # ecs:DeregisterTaskDefinition is the one exception: AWS offers no resource-level permission for it (it only marks
  # a revision INACTIVE; DeleteTaskDefinitions, which deletes, is scoped).
  assert {
    condition = alltrue(flatten([for doc in [data.aws_iam_policy_document.lambda, data.aws_iam_policy_document.states] : [
      for s in doc.statement : !contains(s.resources, "*")
      if anytrue([for a in s.actions : can(regex(":(Delete|Deregister|BatchDelete|Remove|Terminate|Stop)", a)) && a != "ecs:DeregisterTaskDefinition"])
    ]]))
    error_message = "No delete-like action may have Resource \"*\" (but ecs:DeregisterTaskDefinition, which has no resource-level permissions)."
  }

  assert {
    condition = alltrue([for doc in [data.aws_iam_policy_document.lambda_assume, data.aws_iam_policy_document.states_assume] :
      length([for c in doc.statement[0].condition : c if c.variable == "aws:SourceAccount"]) == 1 &&
      length([for c in doc.statement[0].condition : c if c.variable == "aws:SourceArn"]) == 1
    ])
    error_message = "Trust policies must be conditioned on aws:SourceAccount and aws:SourceArn."
  }

  assert {
    condition = (
      tolist(one([for s in data.aws_iam_policy_document.lambda.statement : s.resources if s.sid == "EcsServices"])) == tolist(["arn:aws:ecs:eu-central-1:123456789012:service/ecommerce-*/cart-service-*"]) &&
      tolist(one([for s in data.aws_iam_policy_document.lambda.statement : s.resources if s.sid == "EcsClusters"])) == tolist(["arn:aws:ecs:eu-central-1:123456789012:cluster/ecommerce-*"]) &&
      contains(one([for s in data.aws_iam_policy_document.lambda.statement : s.resources if s.sid == "RuntimeLogGroups"]), "arn:aws:logs:eu-central-1:123456789012:log-group:/aws/ecs/containerinsights/ecommerce-*")
    )
    error_message = "ECS access is scoped to the cart-service-<env> services of the ecommerce-<env> clusters (docs/contract.md)."
  }

  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.lambda.statement :
      s.sid == "EncryptNotifications" && contains(s.actions, "kms:GenerateDataKey*") &&
      anytrue([for c in s.condition : c.variable == "kms:ViaService" && tolist(c.values) == tolist(["sns.eu-central-1.amazonaws.com"])]) &&
      anytrue([for c in s.condition : c.variable == "kms:ResourceAliases" && tolist(c.values) == tolist(["alias/cart-service-*"])])
    ])
    error_message = "Publishing to the environments' KMS-encrypted topics needs their keys, through SNS and for cart-service-* keys only."
  }

  assert {
    condition     = !anytrue([for s in data.aws_iam_policy_document.states.statement : contains(s.actions, "logs:DeleteLogDelivery")])
    error_message = "The state machine role must not get logs:DeleteLogDelivery (it would need Resource \"*\")."
  }
}

run "rules_follow_the_package" {
  command = plan

  variables {
    nightly_teardown_enabled      = true
    nightly_teardown_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:cart-controlplane-dev-nightly_teardown"
    ecr_push_enabled              = true
    ecr_push_function_arn         = "arn:aws:lambda:eu-central-1:123456789012:function:cart-controlplane-dev-on_ecr_push"
  }

  assert {
    condition     = aws_cloudwatch_event_rule.nightly_teardown[0].schedule_expression == "cron(0 20 ? * MON-FRI *)"
    error_message = "Nightly schedule."
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.ecr_push[0].event_pattern).detail["action-type"] == ["PUSH"]
    error_message = "ECR push rule matches pushes."
  }

  assert {
    condition     = aws_lambda_permission.ecr_push[0].principal == "events.amazonaws.com"
    error_message = "EventBridge may invoke the push handler."
  }
}

run "no_rules_without_handlers" {
  command = plan

  assert {
    condition     = length(aws_cloudwatch_event_rule.nightly_teardown) == 0 && length(aws_cloudwatch_event_rule.ecr_push) == 0
    error_message = "Rules exist only when their functions are packaged."
  }
}

run "async_failures_have_a_destination" {
  command = apply

  variables {
    async_functions = {
      on_ecr_push      = "cart-controlplane-dev-on_ecr_push"
      nightly_teardown = "cart-controlplane-dev-nightly_teardown"
    }
    nightly_teardown_enabled      = true
    nightly_teardown_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:cart-controlplane-dev-nightly_teardown"
  }

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
      c.function_name == var.async_functions[k] && c.maximum_retry_attempts == 2 && c.maximum_event_age_in_seconds == 3600 &&
      c.destination_config[0].on_failure[0].destination == aws_sqs_queue.async_failures.arn
    ]) && length(aws_lambda_function_event_invoke_config.async) == 2
    error_message = "Each asynchronous function: 2 retries, 1 hour, on-failure destination the queue."
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
    condition     = anytrue([for s in data.aws_iam_policy_document.lambda.statement : contains(s.actions, "sqs:SendMessage") && contains(s.resources, aws_sqs_queue.async_failures.arn)])
    error_message = "The Lambda role may send to the failure queue (Lambda delivers with it)."
  }

  assert {
    condition     = aws_cloudwatch_event_target.nightly_teardown[0].dead_letter_config[0].arn == aws_sqs_queue.async_failures.arn
    error_message = "Events EventBridge cannot deliver to Terraform's rules' targets land in the same queue."
  }
}
