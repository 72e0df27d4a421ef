# dev column of the settings table, the outputs and the contract parameter (mocked provider, plan only).

mock_provider "aws" {
  source = "../../tests/mocks"
}

run "dev_settings_row" {
  command = plan

  assert {
    condition     = output.nat_gateway_count == 1
    error_message = "dev: NAT gateways must be 1."
  }

  assert {
    condition     = module.dynamodb.billing_mode == "PAY_PER_REQUEST" && module.dynamodb.autoscaling_enabled == false
    error_message = "dev: table must be PAY_PER_REQUEST (autoscaling false)."
  }

  assert {
    condition = (
      module.contract.document.profile.desired_count == 1 &&
      module.contract.document.profile.min_count == 1 &&
      module.contract.document.profile.max_count == 1
    )
    error_message = "dev: tasks must be 1 / 1 / 1."
  }

  assert {
    condition     = module.contract.document.profile.autoscaling == false
    error_message = "dev: service autoscaling must be false."
  }

  assert {
    condition     = module.contract.document.profile.fargate_spot == true
    error_message = "dev: Fargate Spot must be true."
  }

  assert {
    condition     = module.ecs.container_insights == "enabled"
    error_message = "Container Insights must be on."
  }

  assert {
    condition     = module.dynamodb.table_name == "cart-service-dev-carts" && module.ecs.cluster_name == "cart-service-dev"
    error_message = "Names must follow docs/contract.md."
  }

  assert {
    condition     = output.settings.deletion_protection == false
    error_message = "dev: deletion protection must be false."
  }
}

run "dev_contract_parameter" {
  command = plan

  assert {
    condition     = module.contract.parameter_name == "/cart-service/dev/contract"
    error_message = "The contract parameter must be /cart-service/<env>/contract."
  }

  assert {
    condition = (
      module.contract.document.version == 1 &&
      module.contract.document.environment == "dev" &&
      module.contract.document.tier == "dev" &&
      module.contract.document.service_name == "cart-service-dev" &&
      module.contract.document.task_family == "cart-service-dev" &&
      module.contract.document.container_name == "cart" &&
      module.contract.document.container_port == 8080 &&
      module.contract.document.assign_public_ip == false &&
      module.contract.document.codebuild_project_name == "cart-service-dev-image" &&
      module.contract.document.log_group_name == "/cart-service/dev/app" &&
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

run "dev_outputs_without_cicd" {
  command = plan

  assert {
    condition     = output.codestar_connection_arn == null && output.codestar_connection_status == null && output.pipeline_name == null
    error_message = "With enable_cicd = false there is no connection and no pipeline."
  }

  assert {
    condition     = output.dynamodb_table_name == "cart-service-dev-carts"
    error_message = "dynamodb_table_name output."
  }
}

run "cicd_creates_a_connection_by_default" {
  command = plan

  variables {
    enable_cicd   = true
    repository_id = "example-org/cart-service"
  }

  assert {
    condition     = output.codestar_connection_name == "ecom-cart-service-dev-conn"
    error_message = "The default connection name must fit AWS's 32-character limit."
  }

  assert {
    condition     = module.cicd.pipeline_name == "cart-service-dev"
    error_message = "A pipeline must exist with enable_cicd."
  }
}

run "cicd_reuses_an_existing_connection" {
  command = plan

  variables {
    enable_cicd                = true
    create_codestar_connection = false
    codestar_connection_arn    = "arn:aws:codestar-connections:eu-west-1:123456789012:connection/11111111-2222-3333-4444-555555555555"
    repository_id              = "example-org/cart-service"
  }

  assert {
    condition     = output.codestar_connection_arn == "arn:aws:codestar-connections:eu-west-1:123456789012:connection/11111111-2222-3333-4444-555555555555"
    error_message = "The reused connection ARN must be the output."
  }

  assert {
    condition     = output.codestar_connection_name == null
    error_message = "Nothing is created when reusing."
  }
}

run "cicd_needs_a_repository" {
  command = plan

  variables {
    enable_cicd = true
  }

  expect_failures = [var.repository_id]
}

run "enterprise_provider_needs_a_host" {
  command = plan

  variables {
    enable_cicd            = true
    repository_id          = "example-org/cart-service"
    codestar_provider_type = "GitHubEnterpriseServer"
  }

  expect_failures = [var.codestar_host_arn]
}

run "unknown_provider_is_rejected" {
  command = plan

  variables {
    codestar_provider_type = "SourceForge"
  }

  expect_failures = [var.codestar_provider_type]
}

run "repository_id_must_be_owner_slash_repo" {
  command = plan

  variables {
    repository_id = "not-a-repo"
  }

  expect_failures = [var.repository_id]
}

run "settings_are_validated" {
  command = plan

  variables {
    settings = {
      nat_gateway         = "single"
      desired_count       = 2
      min_count           = 1
      max_count           = 3
      dynamodb            = "on-demand"
      autoscaling         = false
      fargate_spot        = true
      cpu_target_percent  = 60
      task_cpu            = "256"
      task_memory         = "512"
      log_retention_days  = 14
      deletion_protection = false
    }
  }

  expect_failures = [var.settings]
}

run "reuse_needs_an_arn" {
  command = plan

  variables {
    enable_cicd                = true
    create_codestar_connection = false
    repository_id              = "example-org/cart-service"
  }

  expect_failures = [var.codestar_connection_arn]
}

run "connection_name_longer_than_32_is_rejected" {
  command = plan

  variables {
    codestar_connection_name = "a-connection-name-that-is-far-too-long"
  }

  expect_failures = [var.codestar_connection_name]
}
