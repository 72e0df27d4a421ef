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

variable "ecr_repository_arn" {
  description = "Repository the builds push to."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecr:", var.ecr_repository_arn))
    error_message = "ecr_repository_arn must be an ECR repository ARN."
  }
}

variable "artifact_bucket_name" {
  description = "Build source / pipeline artifact bucket (created by the cicd module; named here to avoid a dependency cycle)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.artifact_bucket_name))
    error_message = "artifact_bucket_name must be a valid S3 bucket name."
  }
}

variable "kms_key_arn" {
  description = "Environment KMS key (artifacts, logs, images)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}
