# The staging root: its row of the settings table reaches the module, the contract and the outputs (mocked provider).

mock_provider "aws" {
  source = "../../tests/mocks"
}

run "staging_settings_row" {
  command = plan

  assert {
    condition     = module.environment.nat_gateway_count == 1
    error_message = "staging: one NAT gateway (the cheap choice)."
  }

  assert {
    condition     = module.environment.dynamodb_billing_mode == "PAY_PER_REQUEST" && module.environment.dynamodb_autoscaling == false
    error_message = "staging: on-demand table without autoscaling."
  }

  assert {
    condition = (
      module.environment.contract.profile.desired_count == 2 &&
      module.environment.contract.profile.min_count == 2 &&
      module.environment.contract.profile.max_count == 4
    )
    error_message = "staging: tasks 2 / 2 / 4."
  }

  assert {
    condition     = module.environment.contract.profile.autoscaling == true
    error_message = "staging: service autoscaling on."
  }

  assert {
    condition     = module.environment.contract.profile.fargate_spot == false && module.environment.fargate_spot_weight == 0
    error_message = "staging: no Fargate Spot (prod shape)."
  }

  assert {
    condition     = module.environment.settings.deletion_protection == false && module.environment.settings.log_retention_days == 30
    error_message = "staging: deletion protection false, 30 days of logs."
  }

  assert {
    condition     = module.environment.contract.tier == "staging" && module.environment.contract.environment == "staging"
    error_message = "staging: tier and environment."
  }
}

run "staging_outputs" {
  command = plan

  assert {
    condition     = output.dynamodb_table_name == "cart-service-staging-carts"
    error_message = "dynamodb_table_name output."
  }

  assert {
    condition     = output.codestar_connection_arn == null && output.codestar_connection_status == null && output.pipeline_name == null
    error_message = "Without CI/CD there is no connection and no pipeline."
  }

  assert {
    condition     = output.contract_parameter_name == "/cart-service/staging/contract"
    error_message = "contract_parameter_name output."
  }
}

# alb_dns_name and ecr_repository_url are only known after apply.
run "staging_outputs_after_apply" {
  command = apply

  variables {
    cicd = {
      enabled              = true
      repository_id        = "example-org/cart-service"
      controlplane_api_url = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/api/"
      controlplane_package = "git+https://github.com/example-org/cart-controlplane@v1.0.0"
    }
  }

  assert {
    condition     = output.alb_dns_name == "mock-alb-123456789.eu-central-1.elb.amazonaws.com"
    error_message = "alb_dns_name output."
  }

  assert {
    condition     = output.notification_topic_arn == "arn:aws:sns:eu-central-1:123456789012:mock-topic" && module.environment.contract.notification_topic_arn == output.notification_topic_arn
    error_message = "notification_topic_arn output, published in the contract."
  }

  assert {
    condition     = endswith(output.ecr_repository_url, ".dkr.ecr.eu-central-1.amazonaws.com/mock-repository")
    error_message = "ecr_repository_url output."
  }

  assert {
    condition     = output.codestar_connection_status == "PENDING" && startswith(output.codestar_connection_arn, "arn:aws:codestar-connections:")
    error_message = "A new connection is PENDING until authorized; its ARN is an output."
  }

  assert {
    condition     = module.environment.pipeline_branch == "main"
    error_message = "staging deploys pushes to main."
  }
}
