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

variable "table_name" {
  description = "Cart data table name (contract: cart-service-<env>-carts)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be 3-255 characters of letters, digits, '_', '-', '.'."
  }
}

variable "hash_key" {
  description = "Partition key attribute (string)."
  type        = string
  default     = "pk"
}

variable "range_key" {
  description = "Sort key attribute (string)."
  type        = string
  default     = "sk"
}

variable "ttl_attribute" {
  description = "Attribute holding the expiry epoch of abandoned carts; empty disables TTL."
  type        = string
  default     = "expires_at"
}

variable "billing_mode" {
  description = "PAY_PER_REQUEST (on-demand) or PROVISIONED (capacity below, with autoscaling when enabled)."
  type        = string
  default     = "PAY_PER_REQUEST"

  validation {
    condition     = contains(["PAY_PER_REQUEST", "PROVISIONED"], var.billing_mode)
    error_message = "billing_mode must be PAY_PER_REQUEST or PROVISIONED."
  }
}

variable "capacity" {
  description = "Provisioned read/write capacity: starting values and autoscaling bounds (used when billing_mode = PROVISIONED)."
  type = object({
    read_min       = number
    read_max       = number
    write_min      = number
    write_max      = number
    target_percent = number
  })
  default = {
    read_min       = 5
    read_max       = 100
    write_min      = 5
    write_max      = 100
    target_percent = 70
  }

  validation {
    condition = (
      var.capacity.read_min >= 1 && var.capacity.read_max >= var.capacity.read_min &&
      var.capacity.write_min >= 1 && var.capacity.write_max >= var.capacity.write_min &&
      var.capacity.target_percent >= 20 && var.capacity.target_percent <= 90
    )
    error_message = "capacity: minimums >= 1, maximums >= minimums, target_percent 20-90."
  }
}

variable "autoscaling" {
  description = "Scale provisioned capacity with Application Auto Scaling (only meaningful for PROVISIONED)."
  type        = bool
  default     = false
}

variable "deletion_protection" {
  description = "Protect the table from deletion (prod: true)."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "KMS key for server-side encryption."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}
