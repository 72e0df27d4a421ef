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
