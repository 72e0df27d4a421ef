variable "environment" {
  description = "Environment name; the parameter is /cart-service/<environment>/contract."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.environment))
    error_message = "environment must be 2-21 lowercase letters, digits or hyphens."
  }
}

variable "tier" {
  description = "Settings-table column the environment uses: dev, staging or prod."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.tier)
    error_message = "tier must be dev, staging or prod."
  }
}

variable "base" {
  description = "Names and ids of the base resources, exactly the contract's top-level keys other than version/environment/tier/profile (docs/contract.md)."
  type = object({
    cluster_name           = string
    service_name           = string
    task_family            = string
    container_name         = string
    container_port         = number
    task_cpu               = string
    task_memory            = string
    subnet_ids             = list(string)
    security_group_ids     = list(string)
    assign_public_ip       = bool
    target_group_arn       = string
    ecr_repository_name    = string
    data_table_name        = string
    codebuild_project_name = string
    execution_role_arn     = string
    task_role_arn          = string
    log_group_name         = string
    log_retention_days     = number
  })

  validation {
    condition     = length(var.base.subnet_ids) >= 1 && length(var.base.security_group_ids) >= 1
    error_message = "The contract needs at least one subnet and one security group."
  }

  validation {
    condition     = contains(["256", "512", "1024", "2048", "4096", "8192", "16384"], var.base.task_cpu)
    error_message = "task_cpu must be a Fargate CPU value (\"256\" ... \"16384\")."
  }

  validation {
    condition     = startswith(var.base.log_group_name, "/cart-service/")
    error_message = "log_group_name must be under /cart-service/ (the control plane's runtime log groups)."
  }
}

variable "extra" {
  description = "Optional additions to the contract (documented in docs/contract.md, ignored by readers that do not know them): alarm_names, event_bus_name, build_source_bucket, build_source_key, alb_dns_name, container_insights_log_group, notification_topic_arn, build_source (null without CI/CD)."
  type = object({
    alarm_names                  = list(string)
    event_bus_name               = string
    build_source_bucket          = string
    build_source_key             = string
    alb_dns_name                 = string
    container_insights_log_group = string
    notification_topic_arn       = string
    build_source = optional(object({
      type           = string
      location       = string
      branch         = string
      connection_arn = string
    }))
  })

  validation {
    condition = var.extra.build_source == null || (
      contains(["GITHUB", "GITHUB_ENTERPRISE", "GITLAB", "GITLAB_SELF_MANAGED", "BITBUCKET"], try(var.extra.build_source.type, "")) &&
      startswith(try(var.extra.build_source.location, ""), "https://")
    )
    error_message = "build_source.type must be a CodeBuild source type the control plane builds from, and its location an https:// clone URL."
  }

  validation {
    condition     = startswith(var.extra.container_insights_log_group, "/aws/ecs/containerinsights/") && endswith(var.extra.container_insights_log_group, "/performance")
    error_message = "container_insights_log_group must be /aws/ecs/containerinsights/<cluster>/performance."
  }
}

variable "profile" {
  description = "The tier's row of the settings table as the control plane applies it (contract: profile)."
  type = object({
    desired_count      = number
    min_count          = number
    max_count          = number
    autoscaling        = bool
    fargate_spot       = bool
    cpu_target_percent = number
  })

  validation {
    condition = (
      var.profile.min_count >= 1 &&
      var.profile.min_count <= var.profile.desired_count &&
      var.profile.desired_count <= var.profile.max_count
    )
    error_message = "profile needs 1 <= min_count <= desired_count <= max_count."
  }

  validation {
    condition     = var.profile.autoscaling || (var.profile.min_count == var.profile.max_count)
    error_message = "Without autoscaling, min_count must equal max_count."
  }

  validation {
    condition     = var.profile.cpu_target_percent >= 10 && var.profile.cpu_target_percent <= 95
    error_message = "cpu_target_percent must be 10-95."
  }
}

variable "tags" {
  description = "Tags for the parameter."
  type        = map(string)
  default     = {}
}
