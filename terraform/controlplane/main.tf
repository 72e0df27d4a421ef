# The control plane of one stage: modules/controlplane (functions, API, rules and schedules, state machines,
# registry, roles) with the deployment package of terraform/scripts/package_controlplane.py, its KMS key, and the
# operator roles (modules/operator_roles). The stage manages exactly the environments its operator roles cover.

locals {
  state_machine_dir = var.state_machine_dir != "" ? var.state_machine_dir : "${path.root}/../../statemachines"
  package_dir       = var.package_dir != "" ? var.package_dir : "${path.root}/build"
  environments      = distinct(concat(var.dev_environments, var.staging_environments, var.prod_environments))
}

module "kms" {
  source      = "../modules/kms"
  name        = "cart-controlplane-${var.stage}"
  environment = var.stage
}

module "controlplane" {
  source             = "../modules/controlplane"
  stage              = var.stage
  environments       = local.environments
  package_dir        = local.package_dir
  state_machine_dir  = local.state_machine_dir
  kms_key_arn        = module.kms.key_arn
  log_retention_days = var.log_retention_days
  schedule_overrides = var.schedule_overrides
  api_stage          = var.api_stage
  alarm_email        = var.alarm_email
}

# Who may act on which environment through the API (modules/operator_roles, README "Operator roles").
module "operator_roles" {
  source               = "../modules/operator_roles"
  name_prefix          = "cart-operator-${var.stage}"
  api_execution_arn    = module.controlplane.rest_api_execution_arn
  api_stage            = var.api_stage
  dev_environments     = var.dev_environments
  staging_environments = var.staging_environments
  prod_environments    = var.prod_environments
  trusted_principals   = var.operator_principals
  require_mfa          = var.operator_require_mfa
  external_ids         = var.operator_external_ids
}
