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
    condition     = length(output.state_machine_arns) == 4
    error_message = "Four state machines."
  }
}
