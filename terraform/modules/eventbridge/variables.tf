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

variable "rules" {
  description = "EventBridge rules on the environment bus, by short name; each delivers matching events to the queue. event_pattern is a JSON string."
  type = map(object({
    description   = string
    event_pattern = string
  }))
  default = {
    cart-events = {
      description   = "Every event the cart service publishes"
      event_pattern = "{\"source\":[{\"prefix\":\"cart.\"}]}"
    }
  }

  validation {
    condition     = length(var.rules) >= 1 && alltrue([for k, r in var.rules : can(jsondecode(r.event_pattern)) && can(regex("^[a-z0-9-]{1,30}$", k))])
    error_message = "rules needs at least one rule; keys are 1-30 lowercase letters, digits, hyphens; event_pattern must be valid JSON."
  }
}

variable "max_receive_count" {
  description = "Receives before a message moves to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be 1-1000."
  }
}

variable "message_retention_seconds" {
  description = "Retention of the main queue (the DLQ keeps messages 14 days)."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be 60-1209600."
  }
}

variable "kms_key_arn" {
  description = "KMS key for the queues (its policy lets EventBridge use it)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}
