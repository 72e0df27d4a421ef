variable "name" {
  description = "Base name of the environment's resources, e.g. cart-service-dev (docs/contract.md)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.name))
    error_message = "name must be 3-41 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Environment name (dev, staging, prod)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.environment))
    error_message = "environment must be 2-21 lowercase letters, digits or hyphens."
  }
}

variable "tags" {
  description = "Extra tags for every resource of the module (the provider's default_tags carry cart:environment and cart:managed-by)."
  type        = map(string)
  default     = {}
}

variable "alb_arn_suffix" {
  description = "ALB ARN suffix (dimension LoadBalancer)."
  type        = string
}

variable "target_group_arn_suffix" {
  description = "Target group ARN suffix (dimension TargetGroup)."
  type        = string
}

variable "cluster_name" {
  description = "ECS cluster of the service."
  type        = string
}

variable "service_name" {
  description = "ECS service the control plane creates (contract: service_name); alarms may exist before it does."
  type        = string
}

variable "dlq_name" {
  description = "Dead-letter queue whose depth is alarmed on."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the alarm topic."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "thresholds" {
  description = "Alarm thresholds: 5xx count per minute at the targets, p95 response time in seconds, CPU percent."
  type = object({
    target_5xx_per_minute = number
    p95_latency_seconds   = number
    cpu_percent           = number
  })
  default = {
    target_5xx_per_minute = 5
    p95_latency_seconds   = 1.5
    cpu_percent           = 85
  }

  validation {
    condition = (
      var.thresholds.target_5xx_per_minute >= 1 &&
      var.thresholds.p95_latency_seconds > 0 &&
      var.thresholds.cpu_percent > 0 && var.thresholds.cpu_percent <= 100
    )
    error_message = "thresholds: 5xx >= 1, latency > 0, cpu 1-100."
  }
}

variable "alarm_email" {
  description = "Optional e-mail subscribed to the alarm topic (must be confirmed by its owner)."
  type        = string
  default     = ""

  validation {
    condition     = var.alarm_email == "" || can(regex("^[^@ ]+@[^@ ]+\\.[^@ ]+$", var.alarm_email))
    error_message = "alarm_email must be empty or an e-mail address."
  }
}
