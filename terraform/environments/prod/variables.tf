# What the operator passes at apply time (terraform.tfvars, -var). The environment's settings are in main.tf;
# defaults and validation of everything below live in modules/environment.

variable "region" {
  description = "AWS region of the environment (the control plane runs in the same region)."
  type        = string
  default     = "eu-central-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-central-1."
  }
}

variable "tags" {
  description = "Extra default tags for every resource (cart:environment and cart:managed-by=terraform are always set)."
  type        = map(string)
  default     = {}
}

variable "certificate_arn" {
  description = "ACM certificate for HTTPS on the ALB; null or empty serves HTTP only."
  type        = string
  default     = null
}

variable "alarm_email" {
  description = "Optional e-mail subscribed to the alarm topic."
  type        = string
  default     = null
}

variable "cicd" {
  description = "CI/CD of the environment: see variable cicd of modules/environment (and terraform/README.md, \"CI/CD activation\"); every attribute is optional."
  type = object({
    enabled              = optional(bool)
    repository_id        = optional(string)
    create_connection    = optional(bool)
    provider_type        = optional(string)
    connection_name      = optional(string)
    host_arn             = optional(string)
    connection_arn       = optional(string)
    clone_url            = optional(string)
    branch               = optional(string)
    controlplane_api_url = optional(string)
    controlplane_package = optional(string)
    approval             = optional(bool)
  })
  default = {}
}
