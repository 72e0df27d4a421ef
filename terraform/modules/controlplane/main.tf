# The control plane's own AWS resources, next to the Chalice-packaged functions and API (terraform/controlplane):
# the registry table, the Lambda and Step Functions roles (least privilege), the STANDARD state machines with
# logging and X-Ray tracing, the nightly teardown schedule and the ECR push rule.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  prefix     = "cart-controlplane-${var.stage}"

  # Chalice names the functions <app>-<stage>-<function>; the ASL files say $${function_prefix}<function>.
  function_prefix   = "${local.prefix}-"
  function_arn_glob = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${local.prefix}-*"
  state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.prefix}-"
  execution_arn     = "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.prefix}-"

  # Environments the control plane may touch (docs/contract.md "Names"): the service cart-service-<env> in the
  # cluster ecommerce-<env>, and everything else named cart-service-<env>.
  ecs_cluster_arn = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:cluster/ecommerce-*"
  ecs_service_arn = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:service/ecommerce-*/cart-service-*"
  ecs_taskdef_arn = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/cart-service-*:*"
  ecr_repo_arn    = "arn:${local.partition}:ecr:${local.region}:${local.account_id}:repository/cart-service-*"
  runtime_logs    = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/cart-service/*"
  insights_logs   = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/ecs/containerinsights/ecommerce-*"
  scalable_target = "arn:${local.partition}:application-autoscaling:${local.region}:${local.account_id}:scalable-target/*"

  # Rules whose targets Terraform owns: EventBridge may put their undeliverable events in the failure queue.
  terraform_rule_arns = concat(aws_cloudwatch_event_rule.nightly_teardown[*].arn, aws_cloudwatch_event_rule.ecr_push[*].arn)

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

data "aws_iam_policy_document" "lambda" {
  #checkov:skip=CKV_AWS_111:The write actions with "*" (RegisterTaskDefinition, PutMetricData) have no resource-level permissions; PutMetricData is limited by namespace.
  #checkov:skip=CKV_AWS_356:Log delivery and X-Ray have no resource-level permissions; no delete action is granted with "*". only actions without resource-level support use "*"; no delete action does.
  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${local.prefix}-*"]
  }

  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"] # X-Ray has no resource-level permissions
  }

  statement {
    sid       = "Metrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"] # no resource-level permissions; limited by namespace below
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["CartControlPlane"]
    }
  }

  statement {
    sid = "Registry"
    actions = [
      "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query",
      "dynamodb:TransactWriteItems", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable",
    ]
    resources = [aws_dynamodb_table.registry.arn, "${aws_dynamodb_table.registry.arn}/index/*"]
  }

  statement {
    sid       = "RegistryKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }

  # On-failure destination of the asynchronously invoked handlers: Lambda delivers with the function's role. The
  # queue is encrypted with var.kms_key_arn, which RegistryKey above already lets the role use.
  statement {
    sid       = "AsyncFailureDestination"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.async_failures.arn]
  }

  statement {
    sid       = "ReadContracts"
    actions   = ["ssm:GetParameter"]
    resources = ["arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter/cart-service/*/contract"]
  }

  statement {
    sid       = "CheckBaseTables"
    actions   = ["dynamodb:DescribeTable"]
    resources = ["arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/cart-service-*"]
  }

  statement {
    sid       = "RunStateMachines"
    actions   = ["states:StartExecution"]
    resources = ["${local.state_machine_arn}*"]
  }

  #parliament:ignore=RESOURCE_MISMATCH "states:DescribeExecution" DescribeExecution takes an execution ARN or an express ARN (either resource type); parliament wants both, and these machines are STANDARD, so they only have execution ARNs.
  statement {
    sid       = "WatchAndStopExecutions"
    actions   = ["states:DescribeExecution", "states:StopExecution"]
    resources = ["${local.execution_arn}*:*"] # execution:<state machine>:<execution>
  }

  statement {
    sid       = "ResolveWaitingSteps"
    actions   = ["states:SendTaskSuccess", "states:SendTaskFailure"]
    resources = ["*"] # task-token calls have no resource-level permissions
  }

  statement {
    sid       = "NotifyOperationEnds"
    actions   = ["sns:Publish"]
    resources = ["arn:${local.partition}:sns:${local.region}:${local.account_id}:cart-service-*-notifications"]
  }

  # The environments' topics are encrypted with each environment's key (alias/cart-service-<env>): publishing needs
  # the key, through SNS only.
  #parliament:ignore=UNKNOWN_CONDITION_FOR_ACTION "kms:ResourceAliases" AWS documents kms:ResourceAliases (ABAC by alias) as a condition of the key resource type, so for Decrypt and GenerateDataKey*; parliament checks per action and does not know it.
  statement {
    sid       = "EncryptNotifications"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*"]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sns.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ForAnyValue:StringLike"
      variable = "kms:ResourceAliases"
      values   = ["alias/cart-service-*"]
    }
  }

  statement {
    sid       = "EcsServices"
    actions   = ["ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService", "ecs:DescribeServices", "ecs:TagResource"]
    resources = [local.ecs_service_arn]
  }

  statement {
    sid       = "EcsClusters"
    actions   = ["ecs:DescribeClusters"]
    resources = [local.ecs_cluster_arn]
  }

  # ecs:DeregisterTaskDefinition has no resource-level permissions either (the Service Authorization Reference
  # lists no resource type for it): scoped to an ARN it would never be allowed. It only marks a revision INACTIVE
  # (running tasks and services keep it); deleting revisions, DeleteTaskDefinitions below, stays scoped.
  statement {
    sid       = "EcsTaskDefinitionsUnscoped"
    actions   = ["ecs:RegisterTaskDefinition", "ecs:ListTaskDefinitions", "ecs:DescribeTaskDefinition", "ecs:DeregisterTaskDefinition"]
    resources = ["*"] # these ECS actions have no resource-level permissions
  }

  statement {
    sid       = "EcsTaskDefinitionsDelete"
    actions   = ["ecs:DeleteTaskDefinitions", "ecs:TagResource"]
    resources = [local.ecs_taskdef_arn]
  }

  statement {
    sid       = "PassTaskRoles"
    actions   = ["iam:PassRole"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/cart-service-*-task", "arn:${local.partition}:iam::${local.account_id}:role/cart-service-*-task-execution"]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    sid       = "Images"
    actions   = ["ecr:DescribeRepositories", "ecr:DescribeImages", "ecr:ListImages", "ecr:BatchGetImage", "ecr:BatchDeleteImage"]
    resources = [local.ecr_repo_arn]
  }

  statement {
    sid       = "Builds"
    actions   = ["codebuild:StartBuild", "codebuild:BatchGetBuilds"]
    resources = ["arn:${local.partition}:codebuild:${local.region}:${local.account_id}:project/cart-service-*-image"]
  }

  statement {
    sid       = "RuntimeLogGroups"
    actions   = ["logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DeleteLogGroup", "logs:TagResource", "logs:TagLogGroup"]
    resources = [local.runtime_logs, "${local.runtime_logs}:*", local.insights_logs, "${local.insights_logs}:*"]
  }

  statement {
    sid       = "ListLogGroups"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["*"] # no resource-level permissions (read-only listing)
  }

  statement {
    sid       = "NetworkCheck"
    actions   = ["ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"]
    resources = ["*"] # EC2 Describe* has no resource-level permissions
  }

  statement {
    sid       = "TargetHealth"
    actions   = ["elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTargetGroups"]
    resources = ["*"] # Describe* of ELBv2 has no resource-level permissions
  }

  statement {
    sid       = "ServiceAutoscaling"
    actions   = ["application-autoscaling:RegisterScalableTarget", "application-autoscaling:DeregisterScalableTarget", "application-autoscaling:PutScalingPolicy", "application-autoscaling:DeleteScalingPolicy"]
    resources = [local.scalable_target]
    condition {
      test     = "StringEquals"
      variable = "application-autoscaling:service-namespace"
      values   = ["ecs"]
    }
  }

  # TagResource does not know application-autoscaling:service-namespace: under that condition it would never be
  # allowed. Tagging is not destructive; it stays on scalable targets.
  statement {
    sid       = "TagScalableTargets"
    actions   = ["application-autoscaling:TagResource"]
    resources = [local.scalable_target]
  }

  statement {
    sid       = "DescribeAutoscaling"
    actions   = ["application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies"]
    resources = ["*"] # Describe* has no resource-level permissions
  }

  statement {
    sid       = "AutoscalingServiceLinkedRole"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/*"]
    condition {
      test     = "StringLike"
      variable = "iam:AWSServiceName"
      values   = ["ecs.application-autoscaling.amazonaws.com"]
    }
  }

  statement {
    sid       = "SweepByTag"
    actions   = ["tag:GetResources"]
    resources = ["*"] # read-only; no resource-level permissions
  }

  statement {
    sid       = "Identity"
    actions   = ["sts:GetCallerIdentity"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "lambda" {
  name   = "controlplane"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
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
    for_each = length(local.terraform_rule_arns) > 0 ? [1] : []
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
        values   = local.terraform_rule_arns
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
  for_each                     = var.async_functions
  function_name                = each.value
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

# ---------------------------------------------------------------- schedule and ECR push rule

resource "aws_cloudwatch_event_rule" "nightly_teardown" {
  count               = var.nightly_teardown_enabled ? 1 : 0
  name                = "${local.prefix}-nightly-teardown"
  description         = "Nightly teardown of environments with nightly_teardown on."
  schedule_expression = var.nightly_teardown_schedule
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "nightly_teardown" {
  count     = var.nightly_teardown_enabled ? 1 : 0
  rule      = aws_cloudwatch_event_rule.nightly_teardown[0].name
  target_id = "nightly-teardown"
  arn       = var.nightly_teardown_function_arn

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 10
  }

  dead_letter_config {
    arn = aws_sqs_queue.async_failures.arn
  }
}

resource "aws_lambda_permission" "nightly_teardown" {
  count         = var.nightly_teardown_enabled ? 1 : 0
  statement_id  = "AllowNightlyTeardownRule"
  action        = "lambda:InvokeFunction"
  function_name = var.nightly_teardown_function_arn
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.nightly_teardown[0].arn
}

resource "aws_cloudwatch_event_rule" "ecr_push" {
  count       = var.ecr_push_enabled ? 1 : 0
  name        = "${local.prefix}-ecr-push"
  description = "Successful pushes to cart-service-* repositories (deploy on push)."
  event_pattern = jsonencode({
    source        = ["aws.ecr"]
    "detail-type" = ["ECR Image Action"]
    detail = {
      "action-type"     = ["PUSH"]
      result            = ["SUCCESS"]
      "repository-name" = [{ prefix = var.ecr_repository_prefix }]
    }
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "ecr_push" {
  count     = var.ecr_push_enabled ? 1 : 0
  rule      = aws_cloudwatch_event_rule.ecr_push[0].name
  target_id = "ecr-push"
  arn       = var.ecr_push_function_arn

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 10
  }

  dead_letter_config {
    arn = aws_sqs_queue.async_failures.arn
  }
}

resource "aws_lambda_permission" "ecr_push" {
  count         = var.ecr_push_enabled ? 1 : 0
  statement_id  = "AllowEcrPushRule"
  action        = "lambda:InvokeFunction"
  function_name = var.ecr_push_function_arn
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.ecr_push[0].arn
}
