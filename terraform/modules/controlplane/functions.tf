# The control plane's Lambda functions, one per entry of generated/functions.json (the flows' steps, the event
# handlers and schedules, the API): handler, timeout and memory as controlplane/deployment.py declares them, code
# from the package built by terraform/scripts/package_controlplane.py.

locals {
  functions_document = jsondecode(file("${path.module}/generated/functions.json"))
  functions          = local.functions_document.functions
  # Invoked asynchronously by EventBridge (the targets of generated/events.json): retries and a failure destination.
  asynchronous = { for name, f in local.functions : name => f if f.asynchronous }

  package_zip = "${var.package_dir}/deployment.zip"
  package_api = "${var.package_dir}/openapi.json"

  function_environment = merge(
    local.functions_document.environment,
    lookup(local.functions_document.stage_environment, var.stage, { POWERTOOLS_LOG_LEVEL = "INFO" }),
    {
      CONTROLPLANE_STAGE        = var.stage
      CONTROLPLANE_ENVIRONMENTS = join(",", var.environments)
      REGISTRY_TABLE            = aws_dynamodb_table.registry.name
      STATE_MACHINE_PREFIX      = local.state_machine_arn
      NIGHTLY_TEARDOWN_SCHEDULE = local.schedules["nightly-teardown"]
    },
  )
}

resource "aws_cloudwatch_log_group" "functions" {
  #checkov:skip=CKV_AWS_338:Retention is a setting (log_retention_days, default 30); operations are recorded in the registry too.
  for_each          = local.functions
  name              = "/aws/lambda/${local.prefix}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The functions call AWS APIs only (no VPC resource); outside a VPC they need no NAT or endpoints.
  #checkov:skip=CKV_AWS_116:The asynchronous handlers have an on-failure destination (aws_lambda_function_event_invoke_config.async); the steps are invoked synchronously by Step Functions, which retries and catches.
  #checkov:skip=CKV_AWS_115:No reserved concurrency: the account pool serves bursts of events; the registry's locks bound concurrent operations per environment.
  #checkov:skip=CKV_AWS_272:The package is built and applied by the same pipeline (terraform/scripts/package_controlplane.py); no signing profile is part of this stack.
  for_each      = local.functions
  function_name = "${local.prefix}-${each.key}"
  description   = "Cart Service control plane (${var.stage}): ${each.key}"
  role          = aws_iam_role.lambda.arn
  runtime       = local.functions_document.runtime
  handler       = each.value.handler
  timeout       = each.value.timeout
  memory_size   = local.functions_document.memory_mb
  architectures = ["x86_64"]

  filename         = local.package_zip
  source_code_hash = fileexists(local.package_zip) ? filebase64sha256(local.package_zip) : null
  kms_key_arn      = var.kms_key_arn

  environment {
    variables = local.function_environment
  }

  tracing_config {
    mode = "Active"
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = fileexists(local.package_zip)
      error_message = "No deployment package at ${local.package_zip}: run terraform/scripts/package_controlplane.py (terraform/README.md, \"Packaging\")."
    }
  }

  depends_on = [aws_cloudwatch_log_group.functions, aws_iam_role_policy.lambda]
}
