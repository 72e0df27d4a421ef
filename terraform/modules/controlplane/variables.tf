variable "stage" {
  description = "Control plane stage; names everything cart-controlplane-<stage>-... (docs/contract.md)."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.stage))
    error_message = "stage must be 1-16 lowercase letters, digits or hyphens."
  }
}

variable "state_machine_dir" {
  description = "Directory of the ASL files (the repository's statemachines/): every <name>.asl.json becomes a state machine, rendered with templatefile() and function_prefix; provision, build, deploy and destroy must be there."
  type        = string

  validation {
    condition     = alltrue([for k in ["provision", "build", "deploy", "destroy"] : fileexists("${var.state_machine_dir}/${k}.asl.json")])
    error_message = "state_machine_dir must contain provision/build/deploy/destroy .asl.json files."
  }
}

variable "kms_key_arn" {
  description = "KMS key of the control plane (registry table, log groups)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "log_retention_days" {
  description = "Retention of the state machines' execution log groups."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts."
  }
}

variable "log_level" {
  description = "Step Functions execution logging level."
  type        = string
  default     = "ALL"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be ALL, ERROR or FATAL."
  }
}

variable "nightly_teardown_schedule" {
  description = "EventBridge schedule of the nightly teardown (UTC)."
  type        = string
  default     = "cron(0 20 ? * MON-FRI *)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.nightly_teardown_schedule))
    error_message = "nightly_teardown_schedule must be a cron(...) or rate(...) expression."
  }
}

variable "nightly_teardown_enabled" {
  description = "Create the nightly schedule (needs nightly_teardown_function_arn). Separate from the ARN so count is known at plan time."
  type        = bool
  default     = false
}

variable "nightly_teardown_function_arn" {
  description = "Lambda the nightly schedule invokes (it destroys environments with nightly_teardown on)."
  type        = string
  default     = ""
}

variable "ecr_push_enabled" {
  description = "Create the ECR push rule (needs ecr_push_function_arn)."
  type        = bool
  default     = false
}

variable "ecr_push_function_arn" {
  description = "Lambda the ECR push rule invokes (it deploys environments with deploy_on_push on)."
  type        = string
  default     = ""
}

variable "ecr_repository_prefix" {
  description = "Repositories whose successful pushes are forwarded to the control plane."
  type        = string
  default     = "cart-service-"
}

variable "async_functions" {
  description = "Asynchronously invoked functions (event handlers and schedules), Chalice name => function name (cart-controlplane-<stage>-<name>): each gets 2 retries, a 1-hour maximum event age and the failure queue as on-failure destination."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.async_functions : can(regex("^[A-Za-z0-9_-]{1,64}$", v))])
    error_message = "async_functions values must be Lambda function names."
  }
}

variable "alarm_email" {
  description = "Optional e-mail subscribed to the control plane's alarm topic (failed asynchronous handlers)."
  type        = string
  default     = ""

  validation {
    condition     = var.alarm_email == "" || can(regex("^[^@ ]+@[^@ ]+\\.[^@ ]+$", var.alarm_email))
    error_message = "alarm_email must be empty or an e-mail address."
  }
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}
