# prod column of the settings table, the outputs and the contract parameter (mocked provider, plan only).

mock_provider "aws" {
  source = "../../tests/mocks"
}

run "prod_settings_row" {
  command = plan

  assert {
    condition     = output.nat_gateway_count == 2
    error_message = "prod: NAT gateways must be 2."
  }

  assert {
    condition     = module.dynamodb.billing_mode == "PROVISIONED" && module.dynamodb.autoscaling_enabled == true
    error_message = "prod: table must be PROVISIONED (autoscaling true)."
  }

  assert {
    condition = (
      module.contract.document.profile.desired_count == 3 &&
      module.contract.document.profile.min_count == 3 &&
      module.contract.document.profile.max_count == 10
    )
    error_message = "prod: tasks must be 3 / 3 / 10."
  }

  assert {
    condition     = module.contract.document.profile.autoscaling == true
    error_message = "prod: service autoscaling must be true."
  }

  assert {
    condition     = module.contract.document.profile.fargate_spot == false
    error_message = "prod: Fargate Spot must be false."
  }

  assert {
    condition     = module.ecs.container_insights == "enabled"
    error_message = "Container Insights must be on."
  }

  assert {
    condition     = module.dynamodb.table_name == "cart-service-prod-carts" && module.ecs.cluster_name == "cart-service-prod"
    error_message = "Names must follow docs/contract.md."
  }

  assert {
    condition     = output.settings.deletion_protection == true
    error_message = "prod: deletion protection must be true."
  }
}

run "prod_contract_parameter" {
  command = plan

  assert {
    condition     = module.contract.parameter_name == "/cart-service/prod/contract"
    error_message = "The contract parameter must be /cart-service/<env>/contract."
  }

  assert {
    condition = (
      module.contract.document.version == 1 &&
      module.contract.document.environment == "prod" &&
      module.contract.document.tier == "prod" &&
      module.contract.document.service_name == "cart-service-prod" &&
      module.contract.document.task_family == "cart-service-prod" &&
      module.contract.document.container_name == "cart" &&
      module.contract.document.container_port == 8080 &&
      module.contract.document.assign_public_ip == false &&
      module.contract.document.codebuild_project_name == "cart-service-prod-image" &&
      module.contract.document.log_group_name == "/cart-service/prod/app" &&
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

run "prod_outputs_without_cicd" {
  command = plan

  assert {
    condition     = output.codestar_connection_arn == null && output.codestar_connection_status == null && output.pipeline_name == null
    error_message = "With enable_cicd = false there is no connection and no pipeline."
  }

  assert {
    condition     = output.dynamodb_table_name == "cart-service-prod-carts"
    error_message = "dynamodb_table_name output."
  }
}
