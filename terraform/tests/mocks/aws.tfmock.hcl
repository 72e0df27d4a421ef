# Shared mock values for `mock_provider "aws"` in every *.tftest.hcl (offline). Only values the provider validates
# when a mocked apply feeds one resource into another, or that the tests read, need a realistic shape.

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/test"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition  = "aws"
    dns_suffix = "amazonaws.com"
  }
}

mock_data "aws_region" {
  defaults = {
    name = "eu-central-1"
  }
}

mock_data "aws_availability_zones" {
  defaults = {
    names = ["eu-central-1a", "eu-central-1b", "eu-central-1c"]
  }
}

# The mock cannot render policy documents; tests read the statements (inputs) instead, and
# tests/terraform/iam_policies.py renders them with the real provider for linting.
mock_data "aws_iam_policy_document" {
  defaults = {
    json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
  }
}

mock_data "aws_codestarconnections_connection" {
  defaults = {
    connection_status = "AVAILABLE"
  }
}

# ARNs (and ARN-shaped attributes) the provider validates when a mocked apply feeds one resource into another.
mock_resource "aws_iam_role" {
  defaults = {
    arn = "arn:aws:iam::123456789012:role/mock-role"
  }
}

mock_resource "aws_dynamodb_table" {
  defaults = {
    arn = "arn:aws:dynamodb:eu-central-1:123456789012:table/mock-table"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:eu-central-1:123456789012:log-group:/mock"
  }
}

mock_resource "aws_cloudwatch_event_rule" {
  defaults = {
    arn = "arn:aws:events:eu-central-1:123456789012:rule/mock-rule"
  }
}

mock_resource "aws_cloudwatch_event_bus" {
  defaults = {
    arn = "arn:aws:events:eu-central-1:123456789012:event-bus/mock-bus"
  }
}

mock_resource "aws_sfn_state_machine" {
  defaults = {
    arn = "arn:aws:states:eu-central-1:123456789012:stateMachine:mock"
  }
}

mock_resource "aws_kms_key" {
  defaults = {
    arn = "arn:aws:kms:eu-central-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }
}

mock_resource "aws_ecr_repository" {
  defaults = {
    arn            = "arn:aws:ecr:eu-central-1:123456789012:repository/mock-repository"
    repository_url = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/mock-repository"
  }
}

mock_resource "aws_lb" {
  defaults = {
    arn        = "arn:aws:elasticloadbalancing:eu-central-1:123456789012:loadbalancer/app/mock-alb/0123456789abcdef"
    arn_suffix = "app/mock-alb/0123456789abcdef"
    dns_name   = "mock-alb-123456789.eu-central-1.elb.amazonaws.com"
  }
}

mock_resource "aws_lb_target_group" {
  defaults = {
    arn        = "arn:aws:elasticloadbalancing:eu-central-1:123456789012:targetgroup/mock-tg/0123456789abcdef"
    arn_suffix = "targetgroup/mock-tg/0123456789abcdef"
  }
}

mock_resource "aws_sns_topic" {
  defaults = {
    arn = "arn:aws:sns:eu-central-1:123456789012:mock-topic"
  }
}

mock_resource "aws_sqs_queue" {
  defaults = {
    arn = "arn:aws:sqs:eu-central-1:123456789012:mock-queue"
    url = "https://sqs.eu-central-1.amazonaws.com/123456789012/mock-queue"
    id  = "https://sqs.eu-central-1.amazonaws.com/123456789012/mock-queue"
  }
}

mock_resource "aws_s3_bucket" {
  defaults = {
    arn = "arn:aws:s3:::mock-bucket"
  }
}

mock_resource "aws_codebuild_project" {
  defaults = {
    arn = "arn:aws:codebuild:eu-central-1:123456789012:project/mock-project"
  }
}

mock_resource "aws_codestarconnections_connection" {
  defaults = {
    arn               = "arn:aws:codestar-connections:eu-central-1:123456789012:connection/11111111-2222-3333-4444-555555555555"
    connection_status = "PENDING"
  }
}

mock_resource "aws_lambda_function" {
  defaults = {
    arn = "arn:aws:lambda:eu-central-1:123456789012:function:mock-function"
  }
}

mock_resource "aws_api_gateway_rest_api" {
  defaults = {
    execution_arn = "arn:aws:execute-api:eu-central-1:123456789012:a1b2c3d4e5"
  }
}

mock_resource "aws_ssm_parameter" {
  defaults = {
    arn = "arn:aws:ssm:eu-central-1:123456789012:parameter/mock"
  }
}
