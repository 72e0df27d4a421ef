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
  # the asynchronously invoked handlers the package has: retries, maximum age, on-failure destination
  async_functions = { for h in var.async_handlers : h => module.app.function_names[h] if contains(keys(module.app.function_names), h) }
  alarm_email     = var.alarm_email
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

# Who may act on which environment through the API (modules/operator_roles, README "Operator roles"). The roles
# exist once the package has the API (a stub package has none).
module "operator_roles" {
  source               = "../modules/operator_roles"
  enabled              = contains(keys(module.app.function_names), "api_handler")
  name_prefix          = "cart-operator-${var.stage}"
  api_execution_arn    = coalesce(module.app.rest_api_execution_arn, "arn:aws:execute-api:${var.region}:000000000000:none")
  api_stage            = var.api_stage
  dev_environments     = var.dev_environments
  staging_environments = var.staging_environments
  prod_environments    = var.prod_environments
  trusted_principals   = var.operator_principals
  require_mfa          = var.operator_require_mfa
  external_ids         = var.operator_external_ids
}
