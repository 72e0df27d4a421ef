# staging column of the settings table, the outputs and the contract parameter (mocked provider, plan only).

mock_provider "aws" {
  source = "../../tests/mocks"
}

run "staging_settings_row" {
  command = plan

  assert {
    condition     = output.nat_gateway_count == 1
    error_message = "staging: NAT gateways must be 1."
  }

  assert {
    condition     = module.dynamodb.billing_mode == "PAY_PER_REQUEST" && module.dynamodb.autoscaling_enabled == false
    error_message = "staging: table must be PAY_PER_REQUEST (autoscaling false)."
  }

  assert {
    condition = (
      module.contract.document.profile.desired_count == 2 &&
      module.contract.document.profile.min_count == 2 &&
      module.contract.document.profile.max_count == 4
    )
    error_message = "staging: tasks must be 2 / 2 / 4."
  }

  assert {
    condition     = module.contract.document.profile.autoscaling == true
    error_message = "staging: service autoscaling must be true."
  }

  assert {
    condition     = module.contract.document.profile.fargate_spot == false
    error_message = "staging: Fargate Spot must be false."
  }

  assert {
    condition     = module.ecs.container_insights == "enabled"
    error_message = "Container Insights must be on."
  }

  assert {
    condition     = module.dynamodb.table_name == "cart-service-staging-carts" && module.ecs.cluster_name == "cart-service-staging"
    error_message = "Names must follow docs/contract.md."
  }

  assert {
    condition     = output.settings.deletion_protection == false
    error_message = "staging: deletion protection must be false."
  }
}

run "staging_contract_parameter" {
  command = plan

  assert {
    condition     = module.contract.parameter_name == "/cart-service/staging/contract"
    error_message = "The contract parameter must be /cart-service/<env>/contract."
  }

  assert {
    condition = (
      module.contract.document.version == 1 &&
      module.contract.document.environment == "staging" &&
      module.contract.document.tier == "staging" &&
      module.contract.document.service_name == "cart-service-staging" &&
      module.contract.document.task_family == "cart-service-staging" &&
      module.contract.document.container_name == "cart" &&
      module.contract.document.container_port == 8080 &&
      module.contract.document.assign_public_ip == false &&
      module.contract.document.codebuild_project_name == "cart-service-staging-image" &&
      module.contract.document.log_group_name == "/cart-service/staging/app" &&
      module.contract.document.profile.cpu_target_percent == 60
    )
    error_message = "Contract document does not match docs/contract.md."
  }

  assert {
    condition = alltrue([for k in [
      "version", "environment", "tier", "cluster_name", "service_name", "task_family", "container_name",
      "container_port", "task_cpu", "task_memory", "subnet_ids", "security_group_ids", "assign_public_ip",
      "target_group_arn", "ecr_repository_name", "data_table_name", "codebuild_project_name", "execution_role_arn",
      "task_role_arn", "log_group_name", "log_retention_days", "profile",
    ] : contains(keys(module.contract.document), k)])
    error_message = "Contract is missing a required key."
  }

  assert {
    condition     = length(module.contract.document.subnet_ids) == 2
    error_message = "Tasks run in the two private subnets."
  }
}

run "staging_outputs_without_cicd" {
  command = plan

  assert {
    condition     = output.codestar_connection_arn == null && output.codestar_connection_status == null && output.pipeline_name == null
    error_message = "With enable_cicd = false there is no connection and no pipeline."
  }

  assert {
    condition     = output.dynamodb_table_name == "cart-service-staging-carts"
    error_message = "dynamodb_table_name output."
  }
}
