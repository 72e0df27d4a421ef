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

variable "log_retention_days" {
  description = "Retention of the state machines' execution logs."
  type        = number
  default     = 30
}

variable "nightly_teardown_schedule" {
  description = "Schedule of the nightly teardown (UTC). Empty: the one the app declares (@app.schedule of nightly_teardown), else cron(0 20 ? * MON-FRI *)."
  type        = string
  default     = ""

  validation {
    condition     = var.nightly_teardown_schedule == "" || can(regex("^(cron|rate)\\(.+\\)$", var.nightly_teardown_schedule))
    error_message = "nightly_teardown_schedule must be empty or a cron(...) / rate(...) expression."
  }
}

variable "nightly_teardown_function" {
  description = "Chalice function name the nightly schedule invokes; the schedule exists only if the package has it."
  type        = string
  default     = "nightly_teardown"
}

variable "ecr_push_function" {
  description = "Chalice function name the ECR push rule invokes; the rule exists only if the package has it."
  type        = string
  default     = "on_ecr_push"
}

variable "async_handlers" {
  description = "Chalice functions invoked asynchronously by EventBridge (event handlers and schedules): those the package has get 2 retries, a 1-hour maximum event age and the failure queue as on-failure destination."
  type        = list(string)
  default     = ["on_ecr_push", "on_ecs_deployment", "on_codebuild_state", "nightly_teardown", "morning_restore", "teardown_reminder", "reconcile"]
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

# ---------------------------------------------------------------- operator roles (modules/operator_roles)

variable "api_stage" {
  description = "API Gateway stage of the app (Chalice's api_gateway_stage, \"api\" unless .chalice/config.json says otherwise); the operator roles' ARNs name it."
  type        = string
  default     = "api"
}

variable "dev_environments" {
  description = "Environments of the dev tier (dev-deployer acts on them)."
  type        = list(string)
  default     = ["dev"]
}

variable "staging_environments" {
  description = "Environments of the staging tier (staging-operator acts on them)."
  type        = list(string)
  default     = ["staging"]
}

variable "prod_environments" {
  description = "Environments of the prod tier (prod-operator acts on them, destroy included)."
  type        = list(string)
  default     = ["prod"]
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
