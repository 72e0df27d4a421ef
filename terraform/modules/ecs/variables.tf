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

variable "cluster_name" {
  description = "ECS cluster name (contract: cluster_name; ecommerce-<env>). Container Insights writes to /aws/ecs/containerinsights/<cluster_name>/performance."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.cluster_name))
    error_message = "cluster_name must be 1-255 letters, digits, hyphens or underscores."
  }
}

variable "tags" {
  description = "Extra tags for every resource of the module (the provider's default_tags carry cart:environment and cart:managed-by)."
  type        = map(string)
  default     = {}
}

variable "vpc_id" {
  description = "VPC of the tasks."
  type        = string
}

variable "alb_security_group_id" {
  description = "Security group of the ALB; the only source the tasks accept traffic from."
  type        = string
}

variable "container_port" {
  description = "Port the cart container listens on."
  type        = number
  default     = 8080

  validation {
    condition     = var.container_port > 0 && var.container_port < 65536
    error_message = "container_port must be a TCP port."
  }
}

variable "container_insights" {
  description = "Container Insights setting of the cluster: enabled or enhanced (never disabled: the contract requires it on)."
  type        = string
  default     = "enabled"

  validation {
    condition     = contains(["enabled", "enhanced"], var.container_insights)
    error_message = "container_insights must be \"enabled\" or \"enhanced\"."
  }
}

variable "fargate_spot_weight" {
  description = "Default capacity provider strategy weight of FARGATE_SPOT (0 = on-demand only). The control plane sets the service's own strategy from the contract profile; this is the cluster default."
  type        = number
  default     = 0

  validation {
    condition     = var.fargate_spot_weight >= 0 && var.fargate_spot_weight <= 1000
    error_message = "fargate_spot_weight must be 0-1000."
  }
}

variable "ecr_repository_arn" {
  description = "ECR repository the execution role may pull from."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecr:", var.ecr_repository_arn))
    error_message = "ecr_repository_arn must be an ECR repository ARN."
  }
}

variable "data_table_arn" {
  description = "Cart data table the task role may read and write."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:dynamodb:", var.data_table_arn))
    error_message = "data_table_arn must be a DynamoDB table ARN."
  }
}

variable "event_bus_arn" {
  description = "Event bus the task role may put cart events on."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:events:", var.event_bus_arn))
    error_message = "event_bus_arn must be an EventBridge bus ARN."
  }
}

variable "kms_key_arn" {
  description = "Environment KMS key (logs, table, queue encryption)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "runtime_log_group_prefix" {
  description = "Prefix of the runtime log groups the control plane creates (contract: /cart-service/<env>/); the execution role may write there."
  type        = string

  validation {
    condition     = startswith(var.runtime_log_group_prefix, "/") && endswith(var.runtime_log_group_prefix, "/")
    error_message = "runtime_log_group_prefix must start and end with /."
  }
}

variable "exec_log_retention_days" {
  description = "Retention of the cluster's ECS Exec audit log group."
  type        = number
  default     = 14

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.exec_log_retention_days)
    error_message = "exec_log_retention_days must be a retention CloudWatch Logs accepts."
  }
}
