# The EventBridge rules and schedules, one per entry of generated/events.json (declared once in
# controlplane/deployment.py; the sandbox routes events with the same declaration). Each target retries and puts
# what it cannot deliver in the failure queue; the function itself then retries twice before its own on-failure
# destination (main.tf, aws_lambda_function_event_invoke_config.async).

locals {
  rules = jsondecode(file("${path.module}/generated/events.json")).rules
  # The schedules' expressions, with the stage's overrides (UTC).
  schedules = {
    for name, r in local.rules : name => lookup(var.schedule_overrides, name, r.schedule_expression)
    if r.schedule_expression != null
  }
}

resource "aws_cloudwatch_event_rule" "this" {
  for_each            = local.rules
  name                = "${local.prefix}-${each.key}"
  description         = each.value.description
  event_pattern       = each.value.event_pattern == null ? null : jsonencode(each.value.event_pattern)
  schedule_expression = each.value.event_pattern == null ? local.schedules[each.key] : null
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  for_each  = local.rules
  rule      = aws_cloudwatch_event_rule.this[each.key].name
  target_id = each.value.function
  arn       = aws_lambda_function.this[each.value.function].arn

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 10
  }

  dead_letter_config {
    arn = aws_sqs_queue.async_failures.arn
  }
}

resource "aws_lambda_permission" "rules" {
  for_each      = local.rules
  statement_id  = "AllowRule-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[each.value.function].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this[each.key].arn
}
