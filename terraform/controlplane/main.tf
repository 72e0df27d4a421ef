# The control plane's own deployment: the Chalice app (functions + API, packaged by
# terraform/scripts/package_controlplane.py into ./build/chalice) and modules/controlplane (registry table, roles,
# state machines, schedule, ECR push rule).

locals {
  prefix            = "cart-controlplane-${var.stage}"
  state_machine_dir = var.state_machine_dir != "" ? var.state_machine_dir : "${path.root}/../../statemachines"
  packaged          = keys(module.app.function_arns)
  app_rules         = module.app.terraform_rules
  nightly_schedule = var.nightly_teardown_schedule != "" ? var.nightly_teardown_schedule : try(
    local.app_rules[var.nightly_teardown_function].schedule_expression, "cron(0 20 ? * MON-FRI *)"
  )
}

module "kms" {
  source      = "../modules/kms"
  name        = local.prefix
  environment = var.stage
}

module "controlplane" {
  source                        = "../modules/controlplane"
  stage                         = var.stage
  state_machine_dir             = local.state_machine_dir
  kms_key_arn                   = module.kms.key_arn
  log_retention_days            = var.log_retention_days
  nightly_teardown_schedule     = local.nightly_schedule
  nightly_teardown_enabled      = contains(local.packaged, var.nightly_teardown_function)
  nightly_teardown_function_arn = lookup(module.app.function_arns, var.nightly_teardown_function, "")
  ecr_push_enabled              = contains(local.packaged, var.ecr_push_function)
  ecr_push_function_arn         = lookup(module.app.function_arns, var.ecr_push_function, "")
}

module "app" {
  source          = "./build/chalice"
  lambda_role_arn = module.controlplane.lambda_role_arn
  environment_variables = {
    CONTROLPLANE_STAGE        = var.stage
    REGISTRY_TABLE            = module.controlplane.registry_table_name
    STATE_MACHINE_PREFIX      = module.controlplane.state_machine_prefix
    CONTRACT_PARAMETER_PREFIX = "/cart-service"
    POWERTOOLS_SERVICE_NAME   = "cart-controlplane"
  }
}
