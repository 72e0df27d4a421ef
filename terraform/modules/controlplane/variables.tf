variable "stage" {
  description = "Control plane stage; names everything cart-controlplane-<stage>-... (docs/contract.md)."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.stage))
    error_message = "stage must be 1-16 lowercase letters, digits or hyphens."
  }
}

variable "environments" {
  description = "The environments this stage manages (at most 4: the functions' role policy must fit AWS's 10,240 characters). The role may act only on their resources (cart-service-<env>, ecommerce-<env>); the functions read only their contracts."
  type        = list(string)

  validation {
    condition     = length(var.environments) >= 1 && length(var.environments) <= 4 && alltrue([for e in var.environments : can(regex("^[a-z][a-z0-9-]{0,13}[a-z0-9]$", e))])
    error_message = "environments must list 1-4 environment names (2-15 lowercase letters, digits or hyphens, as modules/environment names them)."
  }

  validation {
    condition     = length(distinct(var.environments)) == length(var.environments)
    error_message = "environments must not repeat a name."
  }
}

variable "package_dir" {
  description = "Directory of the deployment package written by terraform/scripts/package_controlplane.py: deployment.zip and openapi.json. Planning needs it; validation does not."
  type        = string
}

variable "schedule_overrides" {
  description = "Schedule expressions (UTC) replacing the declared ones of this stage, by rule name (nightly-teardown, morning-restore, teardown-reminder, reconcile; generated/events.json)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.schedule_overrides : contains(["nightly-teardown", "morning-restore", "teardown-reminder", "reconcile"], k) && can(regex("^(cron|rate)\\(.+\\)$", v))])
    error_message = "schedule_overrides keys must be schedule rules (nightly-teardown, morning-restore, teardown-reminder, reconcile) and values cron(...) or rate(...) expressions."
  }
}

variable "api_stage" {
  description = "API Gateway stage name of the control API (its URL ends in /<api_stage>)."
  type        = string
  default     = "api"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,128}$", var.api_stage))
    error_message = "api_stage must be letters, digits, - or _."
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
  description = "Retention of the log groups of the state machines, the functions and the API's access log."
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
