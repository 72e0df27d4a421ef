variable "name_prefix" {
  description = "Prefix of the role names: <name_prefix>-dev-deployer, -staging-operator, -prod-operator, -readonly (terraform/controlplane passes cart-operator-<stage>). It must not match the control plane's own roles (cart-controlplane-*), which may publish to the environments' topics."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,40}$", var.name_prefix)) && !startswith(var.name_prefix, "cart-controlplane-")
    error_message = "name_prefix must be 1-40 characters valid in a role name, and not start with cart-controlplane- (the control plane's roles)."
  }
}

variable "enabled" {
  description = "Create the roles (off: the module makes nothing, e.g. while an API is not deployed yet)."
  type        = bool
  default     = true
}

variable "api_execution_arn" {
  description = "Execution ARN of the control plane's REST API, arn:<partition>:execute-api:<region>:<account>:<api-id> (the Chalice package's rest_api_execution_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:execute-api:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9*]+$", var.api_execution_arn))
    error_message = "api_execution_arn must look like arn:aws:execute-api:<region>:<account>:<api-id>."
  }
}

variable "api_stage" {
  description = "API Gateway stage of the control plane's API (Chalice's api_gateway_stage; the last segment of api_url)."
  type        = string
  default     = "api"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,128}$", var.api_stage))
    error_message = "api_stage must be a stage name."
  }
}

variable "dev_environments" {
  description = "Environments of the dev tier: dev-deployer may provision, build, deploy, destroy, cancel and keep them alive."
  type        = list(string)
  default     = ["dev"]

  validation {
    condition     = alltrue([for e in var.dev_environments : can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", e))])
    error_message = "dev_environments must be environment names (lowercase letters, digits, hyphens)."
  }

  validation {
    condition     = length(setintersection(toset(var.dev_environments), toset(concat(var.staging_environments, var.prod_environments)))) == 0
    error_message = "An environment belongs to one tier only: dev_environments must not name a staging or prod environment."
  }
}

variable "staging_environments" {
  description = "Environments of the staging tier: staging-operator may act on them (every route)."
  type        = list(string)
  default     = ["staging"]

  validation {
    condition     = alltrue([for e in var.staging_environments : can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", e))])
    error_message = "staging_environments must be environment names (lowercase letters, digits, hyphens)."
  }

  validation {
    condition     = length(setintersection(toset(var.staging_environments), toset(var.prod_environments))) == 0
    error_message = "An environment belongs to one tier only: staging_environments must not name a prod environment."
  }
}

variable "prod_environments" {
  description = "Environments of the prod tier: prod-operator may act on them (every route, destroy included)."
  type        = list(string)
  default     = ["prod"]

  validation {
    condition     = alltrue([for e in var.prod_environments : can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", e))])
    error_message = "prod_environments must be environment names (lowercase letters, digits, hyphens)."
  }
}

variable "trusted_principals" {
  description = "Who may assume each role, by role name (dev-deployer, staging-operator, prod-operator, readonly): IAM principal ARNs (accounts, users, roles such as an SSO permission set's role). A role not listed trusts its own account (arn:<partition>:iam::<account>:root), i.e. every principal of the account whose own IAM policy allows sts:AssumeRole on it."
  type        = map(list(string))
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.trusted_principals) : contains(["dev-deployer", "staging-operator", "prod-operator", "readonly"], k)])
    error_message = "trusted_principals keys must be dev-deployer, staging-operator, prod-operator or readonly."
  }

  validation {
    condition     = alltrue(flatten([for k, v in var.trusted_principals : [for a in v : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:(root|user/.+|role/.+|assumed-role/.+)$", a)) && !can(regex("[*?]", a))]]))
    error_message = "trusted_principals must be IAM principal ARNs (no wildcards: a trust policy cannot use them)."
  }

  validation {
    condition     = alltrue([for v in values(var.trusted_principals) : length(v) > 0])
    error_message = "A role listed in trusted_principals needs at least one principal."
  }
}

variable "require_mfa" {
  description = "People assume the roles with MFA: the trust policies require aws:MultiFactorAuthPresent (roles with an external_id are excepted)."
  type        = bool
  default     = true
}

variable "external_ids" {
  description = "Roles assumed by automation (a CI system, another account's tool), by role name: the trust policy requires sts:ExternalId = this value instead of MFA."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.external_ids : contains(["dev-deployer", "staging-operator", "prod-operator", "readonly"], k) && can(regex("^[A-Za-z0-9+=,.@:/-]+$", v)) && length(v) >= 2 && length(v) <= 1224])
    error_message = "external_ids keys must be role names and values 2-1224 characters of [A-Za-z0-9+=,.@:/-]."
  }
}

variable "max_session_duration" {
  description = "Maximum session length of the roles, in seconds."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200
    error_message = "max_session_duration must be 3600-43200."
  }
}

variable "tags" {
  description = "Tags of the roles."
  type        = map(string)
  default     = {}
}
