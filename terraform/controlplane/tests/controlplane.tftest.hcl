# The control plane root: modules/controlplane with the stage's environments and its operator roles (mocked
# provider; the package is the stand-in of terraform/tests/package).

mock_provider "aws" {
  source = "../tests/mocks"
}

variables {
  package_dir      = "../tests/package"
  dev_environments = ["dev"]
}

run "root_plan" {
  command = plan

  assert {
    condition     = module.controlplane.function_prefix == "cart-controlplane-dev-"
    error_message = "function_prefix must be cart-controlplane-<stage>-."
  }

  assert {
    condition     = output.registry_table_name == "cart-controlplane-dev-registry"
    error_message = "Registry table name."
  }

  assert {
    condition     = alltrue([for k in ["provision", "build", "deploy", "destroy"] : contains(keys(output.state_machine_arns), k)])
    error_message = "provision, build, deploy and destroy state machines."
  }

  assert {
    condition     = output.rule_names["ecr-push"] == "cart-controlplane-dev-ecr-push" && output.rule_names["nightly-teardown"] == "cart-controlplane-dev-nightly-teardown"
    error_message = "The rules are Terraform's, stage-prefixed."
  }

  assert {
    condition     = output.environments == tolist(["dev"])
    error_message = "The dev stage manages what its tiers list: dev."
  }
}

run "the_stage_manages_its_tiers_environments" {
  command = plan

  variables {
    stage                = "prod"
    dev_environments     = []
    staging_environments = ["staging"]
    prod_environments    = ["prod"]
  }

  assert {
    condition     = output.environments == tolist(["staging", "prod"]) && module.controlplane.function_prefix == "cart-controlplane-prod-"
    error_message = "The prod stage manages staging and prod."
  }
}

run "no_environment_no_stage" {
  command = plan

  variables {
    dev_environments = []
  }

  expect_failures = [var.prod_environments]
}

run "operator_roles_act_on_this_api" {
  command = apply

  assert {
    condition     = toset(keys(output.operator_role_arns)) == toset(["dev-deployer", "staging-operator", "prod-operator", "readonly"])
    error_message = "The four operator roles exist."
  }

  assert {
    condition     = contains(jsondecode(module.operator_roles.policies["dev-deployer"]).Statement[1].Resource, "${module.controlplane.rest_api_execution_arn}/api/POST/environments/dev/deployments")
    error_message = "The roles' ARNs name this API and its stage."
  }

  assert {
    condition     = alltrue([for n in values(module.operator_roles.role_names) : startswith(n, "cart-operator-dev-")])
    error_message = "Operator roles are cart-operator-<stage>-<role> (never cart-controlplane-*, which may publish notifications)."
  }
}

run "async_handlers_fail_into_the_queue" {
  command = apply

  assert {
    condition = toset(keys(module.controlplane.async_invoke_configs)) == toset([
      "on_ecr_push", "on_ecs_deployment", "on_codebuild_state", "nightly_teardown", "morning_restore", "teardown_reminder", "reconcile",
    ])
    error_message = "Every function a rule invokes gets an invoke config."
  }

  assert {
    condition = alltrue([for h, c in module.controlplane.async_invoke_configs :
      c.function_name == "cart-controlplane-dev-${h}" && c.maximum_retry_attempts == 2 && c.maximum_event_age_in_seconds == 3600 &&
      c.on_failure == module.controlplane.async_failures_queue_arn
    ])
    error_message = "cart-controlplane-<stage>-<handler>: 2 retries, 1 hour, failures to the queue."
  }
}
