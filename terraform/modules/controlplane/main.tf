# The control plane of one stage: the registry table, the Lambda functions (functions.tf) and the API (api.tf), the
# EventBridge rules and schedules (events.tf), the Lambda and Step Functions roles (least privilege, scoped to the
# stage and the environments it manages), the STANDARD state machines with logging and X-Ray tracing, and the
# failure queue of the asynchronous handlers.
#
# What repeats a declaration of the Python code is generated from it and committed (python -m controlplane
# generate; a test fails on drift): generated/functions.json (handlers, timeouts, memory) and generated/events.json
# (every rule and the function it invokes). The deployment package (the zip and the API's OpenAPI document) is a
# build product of terraform/scripts/package_controlplane.py in var.package_dir.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  prefix     = "cart-controlplane-${var.stage}"

  # Every function is <prefix>-<function>; the ASL files say $${function_prefix}<function>.
  function_prefix   = "${local.prefix}-"
  function_arn_glob = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${local.prefix}-*"
  state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.prefix}-"

  # Every statemachines/<name>.asl.json becomes cart-controlplane-<stage>-<name> (provision, build, deploy, destroy
  # at least; teardown/restore and later ones come along without a change here).
  machines = toset([for f in fileset(var.state_machine_dir, "*.asl.json") : trimsuffix(f, ".asl.json")])
}

# ---------------------------------------------------------------- registry

resource "aws_dynamodb_table" "registry" {
  name         = "${local.prefix}-registry"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }
  attribute {
    name = "gsi1pk"
    type = "S"
  }
  attribute {
    name = "gsi1sk"
    type = "S"
  }

  global_secondary_index {
    name            = "gsi1"
    hash_key        = "gsi1pk"
    range_key       = "gsi1sk"
    projection_type = "ALL"
  }

  ttl {
    attribute_name = "ttl"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}

# ---------------------------------------------------------------- Lambda role

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.function_arn_glob]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name               = "${local.prefix}-lambda"
  description        = "Chalice functions of the control plane (API and state machine steps)."
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

# The one policy of the functions' role: lambda-policy.json.tftpl, rendered here and (for the sandbox and the tests)
# by controlplane/sandbox/iam.py. Every scope is the stage (cart-controlplane-<stage>-*) or one of var.environments
# (cart-service-<env>, ecommerce-<env>), so one stage cannot touch another's environments. "*" only where AWS offers
# no resource-level permission (Describe/List calls, X-Ray, ecs:DeregisterTaskDefinition, and
# states:SendTaskSuccess/SendTaskFailure: task-token calls have no resource type and no condition key in the Service
# Authorization Reference, https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html;
# a token is an unguessable capability of one waiting step, handed only to this stage's handlers).
#
# Permissions AWS checks on the caller's behalf (granted in the template, checked by
# tests/integration/test_lambda_policy.py from the calls the steps make):
# - iam:PassRole of the task and execution roles, with iam:PassedToService = ecs-tasks.amazonaws.com, for
#   RegisterTaskDefinition: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
#   and https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html
# - cloudwatch:PutMetricAlarm, DescribeAlarms, DeleteAlarms: target tracking scaling policies create and delete their
#   alarms with the caller's permissions (alarms TargetTracking-service/<cluster>/<service>-*):
#   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/auto-scaling-IAM.html and
#   https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking.html
# - ecs:DescribeServices and ecs:UpdateService on the scaled service for RegisterScalableTarget (same ECS page);
# - iam:CreateServiceLinkedRole for AWSServiceRoleForApplicationAutoScaling_ECSService (first scalable target) and
#   AWSServiceRoleForECS (first service): https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-service-linked-roles.html
#   and https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html
# - tag on create: ecs:TagResource for CreateService/RegisterTaskDefinition with tags
#   (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/supported-iam-actions-tagging.html), logs:TagResource
#   for CreateLogGroup with tags, application-autoscaling:TagResource for RegisterScalableTarget with tags;
# - scalable targets have generated ARNs: they are scoped by their tag cart:environment (aws:RequestTag on register,
#   aws:ResourceTag after): https://docs.aws.amazon.com/autoscaling/application/userguide/resource-tagging-support.html
# - KMS through a service: the registry (DynamoDB), the failure queue (SQS, the on-failure destination is sent with
#   the function's role) and the environments' notification topics (SNS) are encrypted with customer-managed keys.
resource "aws_iam_role_policy" "lambda" {
  #parliament:ignore=RESOURCE_MISMATCH "states:DescribeExecution" DescribeExecution takes an execution ARN or an express ARN (either resource type); parliament wants both, and these machines are STANDARD, so they only have execution ARNs.
  #parliament:ignore=UNKNOWN_CONDITION_FOR_ACTION "kms:ResourceAliases" AWS documents kms:ResourceAliases (ABAC by alias) as a condition of the key resource type, so for Decrypt and GenerateDataKey*; parliament checks per action and does not know it.
  name = "controlplane"
  role = aws_iam_role.lambda.id
  policy = jsonencode(jsondecode(templatefile("${path.module}/lambda-policy.json.tftpl", {
    partition    = local.partition
    region       = local.region
    account_id   = local.account_id
    stage        = var.stage
    environments = var.environments
    kms_key_arn  = var.kms_key_arn
  })))
}

# ---------------------------------------------------------------- Step Functions

data "aws_iam_policy_document" "states_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["${local.state_machine_arn}*"]
    }
  }
}

resource "aws_iam_role" "states" {
  name               = "${local.prefix}-states"
  description        = "Control plane state machines: invoke the step functions, log, trace."
  assume_role_policy = data.aws_iam_policy_document.states_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "states" {
  #checkov:skip=CKV_AWS_111:Log delivery and X-Ray actions have no resource-level permissions (AWS documents "*"); DeleteLogDelivery is deliberately not granted.
  #checkov:skip=CKV_AWS_356:Log delivery and X-Ray have no resource-level permissions; no delete action is granted with "*".
  statement {
    sid       = "InvokeSteps"
    actions   = ["lambda:InvokeFunction"]
    resources = ["${local.function_arn_glob}", "${local.function_arn_glob}:*"]
  }

  statement {
    sid = "ExecutionLogDelivery"
    actions = [
      "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:ListLogDeliveries",
      "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    ]
    resources = ["*"] # vended log delivery has no resource-level permissions; no delete action is granted
  }

  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    resources = ["*"] # X-Ray has no resource-level permissions
  }
}

resource "aws_iam_role_policy" "states" {
  name   = "invoke-log-trace"
  role   = aws_iam_role.states.id
  policy = data.aws_iam_policy_document.states.json
}

resource "aws_cloudwatch_log_group" "states" {
  #checkov:skip=CKV_AWS_338:Retention is a setting (log_retention_days, default 30); execution history also lives in the registry.
  for_each          = local.machines
  name              = "/aws/vendedlogs/states/${local.prefix}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sfn_state_machine" "this" {
  for_each   = local.machines
  name       = "${local.prefix}-${each.key}"
  type       = "STANDARD"
  role_arn   = aws_iam_role.states.arn
  definition = templatefile("${var.state_machine_dir}/${each.key}.asl.json", { function_prefix = local.function_prefix })

  logging_configuration {
    level                  = var.log_level
    include_execution_data = true
    log_destination        = "${aws_cloudwatch_log_group.states[each.key].arn}:*"
  }

  tracing_configuration {
    enabled = true
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.states]
}

# ---------------------------------------------------------------- failures of the asynchronous handlers
# The event handlers and schedules (on_ecr_push, on_ecs_deployment, on_codebuild_state, nightly_teardown,
# morning_restore, teardown_reminder, reconcile) are invoked asynchronously by EventBridge. After Lambda's retries
# their failed events land in this queue (and so do events EventBridge could not deliver to the rules' targets that
# Terraform owns); an alarm fires while it holds any.

resource "aws_sqs_queue" "async_failures" {
  name                              = "${local.prefix}-async-failures"
  message_retention_seconds         = 1209600 # 14 days, the most SQS keeps
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = var.tags
}

data "aws_iam_policy_document" "async_failures" {
  dynamic "statement" {
    for_each = length(local.rules) > 0 ? [1] : []
    content {
      sid       = "UndeliverableEventsOfTheRules"
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.async_failures.arn]
      principals {
        type        = "Service"
        identifiers = ["events.amazonaws.com"]
      }
      condition {
        test     = "ArnEquals"
        variable = "aws:SourceArn"
        values   = [for r in aws_cloudwatch_event_rule.this : r.arn]
      }
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.async_failures.arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "async_failures" {
  queue_url = aws_sqs_queue.async_failures.id
  policy    = data.aws_iam_policy_document.async_failures.json
}

resource "aws_lambda_function_event_invoke_config" "async" {
  for_each                     = local.asynchronous
  function_name                = aws_lambda_function.this[each.key].function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600

  destination_config {
    on_failure {
      destination = aws_sqs_queue.async_failures.arn
    }
  }

  # The role must be allowed to send before Lambda validates the destination.
  depends_on = [aws_iam_role_policy.lambda]
}

resource "aws_sns_topic" "alarms" {
  name              = "${local.prefix}-alarms"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count     = var.alarm_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

resource "aws_cloudwatch_metric_alarm" "async_failures" {
  alarm_name          = "${local.prefix}-async-failures"
  alarm_description   = "An event handler or schedule of the control plane failed after Lambda's retries: its event is in ${aws_sqs_queue.async_failures.name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.async_failures.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}
