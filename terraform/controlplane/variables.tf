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

variable "tags" {
  description = "Extra default tags."
  type        = map(string)
  default     = {}
}
