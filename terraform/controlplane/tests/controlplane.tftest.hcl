# The control plane root composes the packaged app and the module (mocked provider, plan only).

mock_provider "aws" {
  source = "../tests/mocks"
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
    condition     = output.ecr_push_rule_name == (contains(keys(module.app.function_arns), "on_ecr_push") ? "cart-controlplane-dev-ecr-push" : null)
    error_message = "The ECR push rule exists exactly when the package has on_ecr_push (and is Terraform's, stage-prefixed)."
  }

  assert {
    condition     = output.nightly_teardown_rule_name == (contains(keys(module.app.function_arns), "nightly_teardown") ? "cart-controlplane-dev-nightly-teardown" : null)
    error_message = "The nightly schedule exists exactly when the package has nightly_teardown."
  }
}

run "operator_roles_act_on_this_api" {
  command = apply

  assert {
    condition = (
      !contains(keys(module.app.function_names), "api_handler") ||
      toset(keys(output.operator_role_arns)) == toset(["dev-deployer", "staging-operator", "prod-operator", "readonly"])
    )
    error_message = "With the API packaged, the four operator roles exist."
  }

  assert {
    condition = (
      !contains(keys(module.app.function_names), "api_handler") ||
      contains(jsondecode(module.operator_roles.policies["dev-deployer"]).Statement[1].Resource, "${module.app.rest_api_execution_arn}/api/POST/environments/dev/deployments")
    )
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
      for h in ["on_ecr_push", "on_ecs_deployment", "on_codebuild_state", "nightly_teardown", "morning_restore", "teardown_reminder", "reconcile"] :
      h if contains(keys(module.app.function_names), h)
    ])
    error_message = "Every asynchronous handler the package has gets an invoke config."
  }

  assert {
    condition = alltrue([for h, c in module.controlplane.async_invoke_configs :
      c.function_name == "cart-controlplane-dev-${h}" && c.maximum_retry_attempts == 2 && c.maximum_event_age_in_seconds == 3600 &&
      c.on_failure == module.controlplane.async_failures_queue_arn
    ])
    error_message = "cart-controlplane-<stage>-<handler>: 2 retries, 1 hour, failures to the queue."
  }
}
