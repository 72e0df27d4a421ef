# The environment module on its own (mocked provider): names, the contract, the CI/CD rules and the validation of
# its inputs. The roots' tests cover each settings row.

mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  environment = "qa"
  tier        = "dev"
  vpc_cidr    = "10.40.0.0/16"
  settings = {
    nat_gateway          = "single"
    desired_count        = 1
    min_count            = 1
    max_count            = 1
    dynamodb             = "on-demand"
    autoscaling          = false
    fargate_spot         = true
    cpu_target_percent   = 60
    task_cpu             = "256"
    task_memory          = "512"
    log_retention_days   = 14
    deletion_protection  = false
    image_tag_mutability = "IMMUTABLE"
  }
}

run "names_and_contract" {
  command = plan

  assert {
    condition     = module.contract.parameter_name == "/cart-service/qa/contract"
    error_message = "The contract parameter is /cart-service/<env>/contract."
  }

  assert {
    condition = (
      module.contract.document.version == 1 &&
      module.contract.document.environment == "qa" &&
      module.contract.document.tier == "dev" &&
      module.contract.document.service_name == "cart-service-qa" &&
      module.contract.document.task_family == "cart-service-qa" &&
      module.contract.document.container_name == "cart" &&
      module.contract.document.container_port == 8080 &&
      module.contract.document.assign_public_ip == false &&
      module.contract.document.data_table_name == "cart-service-qa-carts" &&
      module.contract.document.codebuild_project_name == "cart-service-qa-image" &&
      module.contract.document.log_group_name == "/cart-service/qa/app" &&
      module.contract.document.log_retention_days == 14 &&
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
    condition = (
      module.contract.document.cluster_name == "ecommerce-qa" &&
      module.ecs.cluster_name == "ecommerce-qa" &&
      module.contract.document.service_name == "cart-service-qa" &&
      module.contract.document.container_insights_log_group == "/aws/ecs/containerinsights/ecommerce-qa/performance"
    )
    error_message = "Names (docs/contract.md): cluster ecommerce-<env>, service cart-service-<env>, container-insights group of the cluster."
  }

  assert {
    condition     = length(module.contract.document.subnet_ids) == 2
    error_message = "Tasks run in the two private subnets."
  }

  assert {
    condition     = module.ecs.container_insights == "enabled"
    error_message = "Container Insights must be on."
  }
}

run "cicd_creates_a_connection_with_a_generated_name" {
  command = plan

  variables {
    cicd = {
      enabled              = true
      repository_id        = "example-org/cart-service"
      controlplane_api_url = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/api/"
      controlplane_package = "git+https://github.com/example-org/cart-controlplane@v1.0.0"
    }
  }

  assert {
    condition     = output.codestar_connection_name == "cart-service-qa" && length(output.codestar_connection_name) <= 32
    error_message = "connection_name \"\" generates cart-service-<env> (within AWS's 32 characters)."
  }

  assert {
    condition     = module.cicd.pipeline_name == "cart-service-qa"
    error_message = "A pipeline exists with CI/CD on."
  }
}

run "generated_connection_name_fits_32_characters" {
  command = plan

  variables {
    environment = "a-long-env-name" # 15 characters, the longest allowed
    cicd = {
      enabled              = true
      repository_id        = "example-org/cart-service"
      controlplane_api_url = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/api/"
      controlplane_package = "git+https://github.com/example-org/cart-controlplane@v1.0.0"
    }
  }

  assert {
    condition     = output.codestar_connection_name == "cart-service-a-long-env-name" && length(output.codestar_connection_name) <= 32
    error_message = "The generated name of the longest environment name fits AWS's 32 characters."
  }
}

run "cicd_reuses_an_existing_connection" {
  command = plan

  variables {
    cicd = {
      enabled              = true
      create_connection    = false
      connection_arn       = "arn:aws:codestar-connections:eu-central-1:123456789012:connection/11111111-2222-3333-4444-555555555555"
      repository_id        = "example-org/cart-service"
      controlplane_api_url = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/api/"
      controlplane_package = "git+https://github.com/example-org/cart-controlplane@v1.0.0"
    }
  }

  assert {
    condition     = output.codestar_connection_arn == "arn:aws:codestar-connections:eu-central-1:123456789012:connection/11111111-2222-3333-4444-555555555555"
    error_message = "The reused connection ARN is the output."
  }

  assert {
    condition     = output.codestar_connection_name == null
    error_message = "Nothing is created when reusing."
  }
}

run "cicd_needs_a_repository" {
  command = plan

  variables {
    cicd = {
      enabled              = true
      controlplane_api_url = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/api/"
      controlplane_package = "git+https://github.com/example-org/cart-controlplane@v1.0.0"
    }
  }

  expect_failures = [var.cicd]
}

run "cicd_needs_the_controlplane_api" {
  command = plan

  variables {
    cicd = {
      enabled       = true
      repository_id = "example-org/cart-service"
    }
  }

  expect_failures = [var.cicd]
}

run "enterprise_provider_needs_a_host" {
  command = plan

  variables {
    cicd = {
      enabled              = true
      repository_id        = "example-org/cart-service"
      provider_type        = "GitHubEnterpriseServer"
      controlplane_api_url = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/api/"
      controlplane_package = "git+https://github.com/example-org/cart-controlplane@v1.0.0"
    }
  }

  expect_failures = [var.cicd]
}

run "unknown_provider_is_rejected" {
  command = plan

  variables {
    cicd = { provider_type = "SourceForge" }
  }

  expect_failures = [var.cicd]
}

run "repository_id_must_be_owner_slash_repo" {
  command = plan

  variables {
    cicd = { repository_id = "not-a-repo" }
  }

  expect_failures = [var.cicd]
}

run "reuse_needs_an_arn" {
  command = plan

  variables {
    cicd = {
      enabled              = true
      create_connection    = false
      repository_id        = "example-org/cart-service"
      controlplane_api_url = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/api/"
      controlplane_package = "git+https://github.com/example-org/cart-controlplane@v1.0.0"
    }
  }

  expect_failures = [var.cicd]
}

run "connection_name_longer_than_32_is_rejected" {
  command = plan

  variables {
    cicd = { connection_name = "a-connection-name-that-is-far-too-long" }
  }

  expect_failures = [var.cicd]
}

run "settings_are_validated" {
  command = plan

  variables {
    settings = {
      nat_gateway          = "single"
      desired_count        = 2
      min_count            = 1
      max_count            = 3
      dynamodb             = "on-demand"
      autoscaling          = false
      fargate_spot         = true
      cpu_target_percent   = 60
      task_cpu             = "256"
      task_memory          = "512"
      log_retention_days   = 14
      deletion_protection  = false
      image_tag_mutability = "MUTABLE"
    }
  }

  expect_failures = [var.settings]
}

run "only_dev_pushes_mutable_tags" {
  command = plan

  variables {
    tier = "staging"
    settings = {
      nat_gateway          = "single"
      desired_count        = 1
      min_count            = 1
      max_count            = 1
      dynamodb             = "on-demand"
      autoscaling          = false
      fargate_spot         = true
      cpu_target_percent   = 60
      task_cpu             = "256"
      task_memory          = "512"
      log_retention_days   = 14
      deletion_protection  = false
      image_tag_mutability = "MUTABLE"
    }
  }

  expect_failures = [var.settings]
}

run "dev_accepts_latest_again_and_again" {
  command = plan

  variables {
    settings = {
      nat_gateway          = "single"
      desired_count        = 1
      min_count            = 1
      max_count            = 1
      dynamodb             = "on-demand"
      autoscaling          = false
      fargate_spot         = true
      cpu_target_percent   = 60
      task_cpu             = "256"
      task_memory          = "512"
      log_retention_days   = 14
      deletion_protection  = false
      image_tag_mutability = "MUTABLE"
    }
  }

  assert {
    condition     = module.ecr.image_tag_mutability == "MUTABLE"
    error_message = "The dev tier's repository takes a pushed tag again (latest, every push)."
  }
}

run "build_source_is_published_with_cicd" {
  command = apply

  variables {
    cicd = {
      enabled              = true
      create_connection    = false
      connection_arn       = "arn:aws:codeconnections:eu-central-1:123456789012:connection/11111111-2222-3333-4444-555555555555"
      repository_id        = "example-org/cart-service"
      controlplane_api_url = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/api/"
      controlplane_package = "git+https://github.com/example-org/cart-controlplane@v1.0.0"
    }
  }

  assert {
    condition = module.contract.document.build_source == {
      type           = "GITHUB"
      location       = "https://github.com/example-org/cart-service.git"
      branch         = "develop"
      connection_arn = "arn:aws:codeconnections:eu-central-1:123456789012:connection/11111111-2222-3333-4444-555555555555"
    }
    error_message = "With CI/CD the contract says where the control plane builds from: the pipeline's repository, branch and connection."
  }

  assert {
    condition = anytrue([for s in jsondecode(module.cicd.codebuild_connection_policy).Statement :
      contains(s.Action, "codeconnections:UseConnection") && contains(s.Action, "codestar-connections:UseConnection") &&
      contains(s.Resource, "arn:aws:codeconnections:eu-central-1:123456789012:connection/11111111-2222-3333-4444-555555555555") &&
      contains(s.Resource, "arn:aws:codestar-connections:eu-central-1:123456789012:connection/11111111-2222-3333-4444-555555555555")
    ])
    error_message = "The image project's role may use the connection (under both service prefixes)."
  }
}

run "build_source_of_a_self_managed_host" {
  command = plan

  variables {
    cicd = {
      enabled              = true
      create_connection    = false
      provider_type        = "GitLabSelfManaged"
      connection_arn       = "arn:aws:codeconnections:eu-central-1:123456789012:connection/11111111-2222-3333-4444-555555555555"
      repository_id        = "shop/cart-service"
      clone_url            = "https://gitlab.example.com/shop/cart-service.git"
      controlplane_api_url = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/api/"
      controlplane_package = "git+https://github.com/example-org/cart-controlplane@v1.0.0"
    }
  }

  assert {
    condition     = module.contract.document.build_source.type == "GITLAB_SELF_MANAGED" && module.contract.document.build_source.location == "https://gitlab.example.com/shop/cart-service.git"
    error_message = "A self-managed host's build source is its clone URL."
  }
}

run "no_build_source_without_cicd" {
  command = plan

  assert {
    condition     = module.contract.document.build_source == null
    error_message = "Without CI/CD the contract names no build source (the build says what to do)."
  }
}

run "environment_name_longer_than_15_is_rejected" {
  command = plan

  variables {
    environment = "a-sixteen-chars1"
  }

  expect_failures = [var.environment]
}

run "unknown_tier_is_rejected" {
  command = plan

  variables {
    tier = "qa"
  }

  expect_failures = [var.tier]
}

run "notification_topic" {
  command = apply

  assert {
    condition     = aws_sns_topic.notifications.name == "cart-service-qa-notifications" && aws_sns_topic.notifications.kms_master_key_id == module.kms.key_arn
    error_message = "The topic is cart-service-<env>-notifications, encrypted with the environment's key."
  }

  assert {
    condition     = output.notification_topic_arn == aws_sns_topic.notifications.arn && module.contract.document.notification_topic_arn == aws_sns_topic.notifications.arn
    error_message = "The topic's ARN is an output and the contract's notification_topic_arn."
  }

  assert {
    condition = one([
      for s in data.aws_iam_policy_document.notifications.statement : s
      if s.sid == "ControlPlanePublishes" && tolist(s.actions) == tolist(["sns:Publish"]) &&
      anytrue([for c in s.condition : c.test == "ArnLike" && c.variable == "aws:PrincipalArn" && tolist(c.values) == tolist(["arn:aws:iam::123456789012:role/cart-controlplane-*"])])
    ]) != null
    error_message = "The control plane's roles (arn:aws:iam::<account>:role/cart-controlplane-*) may publish."
  }

  assert {
    condition = one([
      for s in data.aws_iam_policy_document.notifications.statement : s
      if s.effect == "Deny" && contains(s.actions, "sns:Publish") &&
      anytrue([for c in s.condition : c.test == "ArnNotLike" && c.variable == "aws:PrincipalArn"])
    ]) != null
    error_message = "Everyone else is denied sns:Publish."
  }

  assert {
    condition     = aws_sns_topic_policy.notifications.arn == aws_sns_topic.notifications.arn
    error_message = "The policy is attached to the topic."
  }
}

run "notification_publishers_can_be_set" {
  command = plan

  variables {
    notification_publisher_arns = ["arn:aws:iam::123456789012:role/other-publisher"]
  }

  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.notifications.statement :
      s.sid == "ControlPlanePublishes" && anytrue([for c in s.condition : tolist(c.values) == tolist(["arn:aws:iam::123456789012:role/other-publisher"])])
    ])
    error_message = "notification_publisher_arns replaces the default publishers."
  }
}

run "prod_tier_deploys_main_after_approval" {
  command = plan

  variables {
    tier = "prod"
    cicd = {
      enabled              = true
      repository_id        = "example-org/cart-service"
      controlplane_api_url = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/api/"
      controlplane_package = "git+https://github.com/example-org/cart-controlplane@v1.0.0"
    }
  }

  assert {
    condition     = output.pipeline_branch == "main" && output.pipeline_approval == true
    error_message = "prod: pushes to main, then a manual approval before the hand-off."
  }

  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.notifications.statement :
      s.sid == "ControlPlanePublishes" && anytrue([for c in s.condition : contains(c.values, "arn:aws:iam::123456789012:role/cart-service-qa-codepipeline")])
    ])
    error_message = "The pipeline may announce its approval on the notification topic."
  }
}

run "dev_tier_deploys_develop_without_approval" {
  command = plan

  variables {
    cicd = {
      enabled              = true
      repository_id        = "example-org/cart-service"
      controlplane_api_url = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/api/"
      controlplane_package = "git+https://github.com/example-org/cart-controlplane@v1.0.0"
    }
  }

  assert {
    condition     = output.pipeline_branch == "develop" && output.pipeline_approval == false
    error_message = "dev: pushes to develop, no approval."
  }
}

run "cicd_needs_the_controlplane_package" {
  command = plan

  variables {
    cicd = {
      enabled              = true
      repository_id        = "example-org/cart-service"
      controlplane_api_url = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/api/"
    }
  }

  expect_failures = [var.cicd]
}
