# The control API: a REST API from the app's OpenAPI document (written by terraform/scripts/package_controlplane.py
# from `chalice package`: every route but /health needs SigV4), proxied to the api_handler function, in one stage
# with X-Ray and access logs. API Gateway's own refusals (unknown path or unsigned request, IAM denial, throttling,
# its 5xx) answer in the API's error envelope {"error": {"code", "message"}} like the app's own errors.

locals {
  # Responses API Gateway produces itself. code null: the response type names it ($context.error.responseType);
  # message null: API Gateway's own message. DEFAULT_4XX and DEFAULT_5XX cover every type not listed.
  gateway_responses = {
    DEFAULT_4XX                  = { status = null, code = null, message = null }
    DEFAULT_5XX                  = { status = null, code = null, message = null }
    MISSING_AUTHENTICATION_TOKEN = { status = "403", code = "MissingAuthenticationToken", message = "no route answers this method and path, or the request is not signed with SigV4" }
    ACCESS_DENIED                = { status = "403", code = "AccessDenied", message = null }
    INVALID_SIGNATURE            = { status = "403", code = "InvalidSignature", message = null }
    EXPIRED_TOKEN                = { status = "403", code = "ExpiredToken", message = null }
    UNAUTHORIZED                 = { status = "401", code = "Unauthorized", message = null }
    THROTTLED                    = { status = "429", code = "TooManyRequests", message = null }
    QUOTA_EXCEEDED               = { status = "429", code = "QuotaExceeded", message = null }
    RESOURCE_NOT_FOUND           = { status = "404", code = "NotFound", message = null }
    REQUEST_TOO_LARGE            = { status = "413", code = "PayloadTooLarge", message = null }
    UNSUPPORTED_MEDIA_TYPE       = { status = "415", code = "UnsupportedMediaType", message = null }
    BAD_REQUEST_BODY             = { status = "400", code = "BadRequest", message = null }
    BAD_REQUEST_PARAMETERS       = { status = "400", code = "BadRequest", message = null }
    INTEGRATION_FAILURE          = { status = "502", code = "BadGateway", message = null }
    INTEGRATION_TIMEOUT          = { status = "504", code = "GatewayTimeout", message = null }
    API_CONFIGURATION_ERROR      = { status = "500", code = "InternalError", message = null }
  }
}

resource "aws_api_gateway_rest_api" "api" {
  name        = local.prefix
  description = "Cart Service control plane API (${var.stage}); every route but /health needs SigV4."
  body        = fileexists(local.package_api) ? replace(file(local.package_api), "@@API_HANDLER_INVOKE_ARN@@", aws_lambda_function.this["api_handler"].invoke_arn) : null

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = fileexists(local.package_api)
      error_message = "No OpenAPI document at ${local.package_api}: run terraform/scripts/package_controlplane.py (terraform/README.md, \"Packaging\")."
    }
  }
}

# Importing a changed body overwrites the whole API definition, gateway responses included: they are put again
# whenever the body changes.
resource "aws_api_gateway_gateway_response" "this" {
  for_each      = local.gateway_responses
  rest_api_id   = aws_api_gateway_rest_api.api.id
  response_type = each.key
  status_code   = each.value.status

  response_templates = {
    "application/json" = format(
      "{\"error\":{\"code\":%s,\"message\":%s}}",
      each.value.code == null ? "\"$context.error.responseType\"" : jsonencode(each.value.code),
      each.value.message == null ? "$context.error.messageString" : jsonencode(each.value.message),
    )
  }

  lifecycle {
    replace_triggered_by = [aws_api_gateway_rest_api.api.body]
  }
}

resource "aws_api_gateway_deployment" "api" {
  rest_api_id = aws_api_gateway_rest_api.api.id

  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_rest_api.api.body,
      [for k, r in aws_api_gateway_gateway_response.this : [k, r.status_code, r.response_templates]],
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [aws_api_gateway_gateway_response.this]
}

resource "aws_cloudwatch_log_group" "api_access" {
  #checkov:skip=CKV_AWS_338:Retention is a setting (log_retention_days, default 30).
  name              = "/aws/apigateway/${local.prefix}/access"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_api_gateway_stage" "api" {
  #checkov:skip=CKV_AWS_120:No response caching: every answer reflects the registry and AWS as they are now.
  #checkov:skip=CKV2_AWS_29:No WAF: every route but /health needs SigV4 (IAM), and API Gateway throttles.
  #checkov:skip=CKV2_AWS_51:Clients authenticate with SigV4, not client certificates.
  #checkov:skip=CKV2_AWS_4:Execution logging needs the account-wide API Gateway CloudWatch role (aws_api_gateway_account), which is outside this stack; access logs and X-Ray are on.
  rest_api_id          = aws_api_gateway_rest_api.api.id
  deployment_id        = aws_api_gateway_deployment.api.id
  stage_name           = var.api_stage
  xray_tracing_enabled = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId    = "$context.requestId"
      ip           = "$context.identity.sourceIp"
      caller       = "$context.identity.caller"
      userArn      = "$context.identity.userArn"
      requestTime  = "$context.requestTime"
      httpMethod   = "$context.httpMethod"
      resourcePath = "$context.resourcePath"
      status       = "$context.status"
      responseType = "$context.error.responseType"
      error        = "$context.error.message"
    })
  }

  tags = var.tags
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowApiGateway"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["api_handler"].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.api.execution_arn}/*"
}
