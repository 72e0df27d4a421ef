variable "stage" {
  description = "Control plane stage (Chalice stage): names cart-controlplane-<stage>-*. Package with the same --stage."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.stage))
    error_message = "stage must be 1-16 lowercase letters, digits or hyphens."
  }
}

variable "region" {
  description = "AWS region of the control plane (the same as the environments it manages)."
  type        = string
  default     = "eu-central-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-central-1."
  }
}

variable "state_machine_dir" {
  description = "Directory of the ASL files; empty means the repository's statemachines/."
  type        = string
  default     = ""
}

variable "package_dir" {
  description = "Directory of the deployment package (deployment.zip, openapi.json) written by terraform/scripts/package_controlplane.py; empty means ./build of this root (where the packager writes by default)."
  type        = string
  default     = ""
}

variable "schedule_overrides" {
  description = "Schedule expressions (UTC) replacing the declared ones (controlplane/deployment.py), by rule: nightly-teardown, morning-restore, teardown-reminder, reconcile."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  description = "Retention of the control plane's log groups (state machines, functions, API access)."
  type        = number
  default     = 30
}

variable "alarm_email" {
  description = "Optional e-mail subscribed to the control plane's alarm topic (failed asynchronous handlers)."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Extra default tags."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------- environments and operator roles
# The stage manages exactly the environments of its tiers (at most 4 in all): its functions' role may act on their
# resources only, and its operator roles act on them through its API. stages/<stage>.tfvars says which.

variable "api_stage" {
  description = "API Gateway stage of the app (Chalice's api_gateway_stage, \"api\" unless .chalice/config.json says otherwise); the operator roles' ARNs name it."
  type        = string
  default     = "api"
}

variable "dev_environments" {
  description = "Environments of the dev tier this stage manages (dev-deployer acts on them)."
  type        = list(string)
  default     = []
}

variable "staging_environments" {
  description = "Environments of the staging tier this stage manages (staging-operator acts on them)."
  type        = list(string)
  default     = []
}

variable "prod_environments" {
  description = "Environments of the prod tier this stage manages (prod-operator acts on them, destroy included)."
  type        = list(string)
  default     = []

  validation {
    condition     = length(distinct(concat(var.dev_environments, var.staging_environments, var.prod_environments))) >= 1 && length(distinct(concat(var.dev_environments, var.staging_environments, var.prod_environments))) <= 4
    error_message = "A stage manages 1-4 environments in all (dev_environments, staging_environments, prod_environments; see stages/<stage>.tfvars)."
  }
}

variable "operator_principals" {
  description = "Who may assume each operator role, by role (dev-deployer, staging-operator, prod-operator, readonly): IAM principal ARNs. A role not listed trusts this account (principals whose IAM policy allows sts:AssumeRole on it)."
  type        = map(list(string))
  default     = {}
}

variable "operator_require_mfa" {
  description = "Require MFA to assume the operator roles (except roles with an external id)."
  type        = bool
  default     = true
}

variable "operator_external_ids" {
  description = "Operator roles assumed by automation, by role: their trust requires this sts:ExternalId instead of MFA."
  type        = map(string)
  default     = {}
}
