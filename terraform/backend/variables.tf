variable "region" {
  description = "AWS region of the state bucket and lock table."
  type        = string
  default     = "eu-central-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-central-1."
  }
}

variable "bucket_name" {
  description = "Name of the state bucket. Empty (default) means cart-service-tfstate-<account-id>, as docs/contract.md names it."
  type        = string
  default     = ""

  validation {
    condition     = var.bucket_name == "" || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be empty or a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)."
  }
}

variable "lock_table_name" {
  description = "Name of the DynamoDB lock table kept for Terraform clients older than 1.10 (the roots themselves lock with use_lockfile)."
  type        = string
  default     = "cart-service-tfstate-lock"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.lock_table_name))
    error_message = "lock_table_name must be 3-255 characters of letters, digits, '_', '-', '.'."
  }
}

variable "force_destroy" {
  description = <<-EOT
    Allow `terraform destroy` to delete the state bucket while it still holds objects (all state versions of every
    environment). OFF by default, on purpose: the state is the only record of what Terraform created. Turn it on
    only for a throw-away setup, after every environment has been destroyed; terraform/scripts/destroy_all.py
    refuses to destroy the backend while any environment still has state, whatever this says.
  EOT
  type        = bool
  default     = false
}

variable "noncurrent_version_retention_days" {
  description = "Days a superseded state version is kept before it expires."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_retention_days >= 7 && var.noncurrent_version_retention_days <= 3650
    error_message = "noncurrent_version_retention_days must be between 7 and 3650."
  }
}

variable "kms_key_deletion_window_days" {
  description = "Waiting period before the state encryption key is deleted after a destroy."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_days >= 7 && var.kms_key_deletion_window_days <= 30
    error_message = "kms_key_deletion_window_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Extra tags for every resource of the backend."
  type        = map(string)
  default     = {}
}
