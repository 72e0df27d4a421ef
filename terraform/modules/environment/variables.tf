# Inputs of one environment. The roots environments/<env> set environment, tier, settings and vpc_cidr (their row
# of the settings table, docs/contract.md) and pass the operator's inputs (certificate, alarm e-mail, CI/CD) through.

variable "environment" {
  description = "Environment name: names every resource (cart-service-<env>, cluster ecommerce-<env>) and the contract parameter /cart-service/<env>/contract. At most 15 characters: the load balancer's name cart-service-<env>-alb must fit AWS's 32."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,13}[a-z0-9]$", var.environment))
    error_message = "environment must be 2-15 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen (cart-service-<env>-alb must fit AWS's 32 characters)."
  }
}

variable "tier" {
  description = "Settings-table column the environment follows (dev, staging or prod); published as the contract's tier and choosing the pipeline's default branch and approval."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.tier)
    error_message = "tier must be dev, staging or prod."
  }
}

variable "settings" {
  description = <<-EOT
    The environment's row of the settings table. Terraform applies nat_gateway, dynamodb, deletion_protection and
    log_retention_days itself; desired/min/max_count, autoscaling, fargate_spot, cpu_target_percent and the task size
    reach the control plane through the contract (it owns the ECS service and its autoscaling). autoscaling also
    turns on table autoscaling when dynamodb = "provisioned"; fargate_spot also sets the cluster's default capacity
    provider strategy.
  EOT
  type = object({
    nat_gateway          = string
    desired_count        = number
    min_count            = number
    max_count            = number
    dynamodb             = string
    autoscaling          = bool
    fargate_spot         = bool
    cpu_target_percent   = number
    task_cpu             = string
    task_memory          = string
    log_retention_days   = number
    deletion_protection  = bool
    image_tag_mutability = string
  })

  validation {
    condition     = contains(["IMMUTABLE", "MUTABLE"], var.settings.image_tag_mutability) && (var.settings.image_tag_mutability == "IMMUTABLE" || var.tier == "dev")
    error_message = "settings.image_tag_mutability must be IMMUTABLE, or MUTABLE for the dev tier only (where latest is pushed again and again)."
  }

  validation {
    condition     = contains(["single", "per_az"], var.settings.nat_gateway)
    error_message = "settings.nat_gateway must be \"single\" or \"per_az\"."
  }

  validation {
    condition     = contains(["on-demand", "provisioned"], var.settings.dynamodb)
    error_message = "settings.dynamodb must be \"on-demand\" or \"provisioned\"."
  }

  validation {
    condition     = var.settings.min_count >= 1 && var.settings.min_count <= var.settings.desired_count && var.settings.desired_count <= var.settings.max_count
    error_message = "settings needs 1 <= min_count <= desired_count <= max_count."
  }

  validation {
    condition     = var.settings.autoscaling || var.settings.min_count == var.settings.max_count
    error_message = "settings: without autoscaling min_count must equal max_count."
  }

  validation {
    condition     = var.settings.cpu_target_percent >= 10 && var.settings.cpu_target_percent <= 95
    error_message = "settings.cpu_target_percent must be 10-95."
  }

  validation {
    condition     = contains(["256", "512", "1024", "2048", "4096", "8192", "16384"], var.settings.task_cpu)
    error_message = "settings.task_cpu must be a Fargate CPU value (\"256\" ... \"16384\")."
  }

  validation {
    condition     = can(tonumber(var.settings.task_memory)) && tonumber(var.settings.task_memory) >= 512
    error_message = "settings.task_memory must be a number of MiB (at least \"512\"), as a string."
  }

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.settings.log_retention_days)
    error_message = "settings.log_retention_days must be a retention CloudWatch Logs accepts."
  }
}

variable "vpc_cidr" {
  description = "CIDR of the environment's VPC (/18 or larger; split into one public and one private /20 per AZ). Give every environment its own range."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 18
    error_message = "vpc_cidr must be a valid IPv4 CIDR of size /18 or larger."
  }
}

variable "container_port" {
  description = "Port the cart container listens on (target group, task security group, contract container_port)."
  type        = number
  default     = 8080
  nullable    = false

  validation {
    condition     = var.container_port > 0 && var.container_port < 65536
    error_message = "container_port must be a TCP port."
  }
}

variable "certificate_arn" {
  description = "ACM certificate for HTTPS on the ALB (port 80 then redirects to 443); empty serves HTTP only."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.certificate_arn == "" || can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be empty or an ACM certificate ARN."
  }
}

variable "alarm_email" {
  description = "Optional e-mail subscribed to the alarm topic (the owner confirms the subscription)."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.alarm_email == "" || can(regex("^[^@ ]+@[^@ ]+\\.[^@ ]+$", var.alarm_email))
    error_message = "alarm_email must be empty or an e-mail address."
  }
}

variable "dynamodb_capacity" {
  description = "Provisioned capacity of the cart table: starting values and autoscaling bounds (used when settings.dynamodb = provisioned)."
  type = object({
    read_min       = number
    read_max       = number
    write_min      = number
    write_max      = number
    target_percent = number
  })
  default = {
    read_min       = 5
    read_max       = 200
    write_min      = 5
    write_max      = 200
    target_percent = 70
  }
  nullable = false

  validation {
    condition = (
      var.dynamodb_capacity.read_min >= 1 && var.dynamodb_capacity.read_max >= var.dynamodb_capacity.read_min &&
      var.dynamodb_capacity.write_min >= 1 && var.dynamodb_capacity.write_max >= var.dynamodb_capacity.write_min &&
      var.dynamodb_capacity.target_percent >= 20 && var.dynamodb_capacity.target_percent <= 90
    )
    error_message = "dynamodb_capacity: minimums >= 1, maximums >= minimums, target_percent 20-90."
  }
}

variable "notification_publisher_arns" {
  description = "IAM principal ARNs (wildcards allowed) that may publish to the notification topic cart-service-<env>-notifications; empty (default) means the control plane's roles, arn:<partition>:iam::<account>:role/cart-controlplane-*. Everyone else is denied."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for a in var.notification_publisher_arns : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:", a))])
    error_message = "notification_publisher_arns must be IAM/STS principal ARNs of an account."
  }
}

variable "cicd" {
  description = <<-EOT
    CI/CD of the environment (README "CI/CD activation"). Every attribute is optional:
      enabled              create the CodePipeline and its CodeStar connection (default false);
      repository_id        source repository owner/repo (required when enabled);
      create_connection    true (default): create a connection, PENDING until authorized once in the console;
                           false: reuse connection_arn;
      provider_type        GitHub (default), Bitbucket, GitLab, GitHubEnterpriseServer or GitLabSelfManaged;
      connection_name      name of the created connection; "" (default) generates cart-service-<env> (at most 28
                           characters, within AWS's 32-character limit);
      host_arn             host of a GitHubEnterpriseServer / GitLabSelfManaged connection;
      connection_arn       existing connection to reuse;
      clone_url            the repository's HTTPS clone URL, published in the contract's build_source; "" (default)
                           means https://github.com|gitlab.com|bitbucket.org/<repository_id>.git; required for
                           GitHubEnterpriseServer and GitLabSelfManaged;
      branch               branch whose pushes run the pipeline; "" (default) means the tier's: develop (dev), main
                           (staging, prod);
      controlplane_api_url the control plane's API (terraform/controlplane output api_url; required when enabled);
      controlplane_package pip requirement of the control plane's package, from which the hand-off installs cartctl
                           (git+https://..., a wheel URL, name==version, or s3://bucket/key.whl; required when
                           enabled);
      approval             a manual approval stage before the hand-off; null (default) means on for the prod tier.
  EOT
  type = object({
    enabled              = optional(bool, false)
    repository_id        = optional(string, "")
    create_connection    = optional(bool, true)
    provider_type        = optional(string, "GitHub")
    connection_name      = optional(string, "")
    host_arn             = optional(string, "")
    connection_arn       = optional(string, "")
    clone_url            = optional(string, "")
    branch               = optional(string, "")
    controlplane_api_url = optional(string, "")
    controlplane_package = optional(string, "")
    approval             = optional(bool)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.cicd.repository_id == "" || can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.cicd.repository_id))
    error_message = "cicd.repository_id must look like owner/repo."
  }

  validation {
    condition     = var.cicd.clone_url == "" || can(regex("^https://[^/]+/.+", var.cicd.clone_url))
    error_message = "cicd.clone_url must be an https:// clone URL."
  }

  validation {
    condition = (
      !var.cicd.enabled || var.cicd.clone_url != "" ||
      !contains(["GitHubEnterpriseServer", "GitLabSelfManaged"], var.cicd.provider_type)
    )
    error_message = "cicd.clone_url is required for GitHubEnterpriseServer and GitLabSelfManaged (their host's clone URL of the repository)."
  }

  validation {
    condition     = !var.cicd.enabled || var.cicd.repository_id != ""
    error_message = "cicd.repository_id (owner/repo) is required when cicd.enabled = true."
  }

  validation {
    condition     = contains(["GitHub", "Bitbucket", "GitLab", "GitHubEnterpriseServer", "GitLabSelfManaged"], var.cicd.provider_type)
    error_message = "cicd.provider_type must be one of GitHub, Bitbucket, GitLab, GitHubEnterpriseServer, GitLabSelfManaged."
  }

  validation {
    condition     = var.cicd.connection_name == "" || can(regex("^[A-Za-z0-9_.-]{1,32}$", var.cicd.connection_name))
    error_message = "cicd.connection_name must be empty (generated) or 1-32 letters, digits, '.', '_' or '-' (AWS caps connection names at 32 characters)."
  }

  validation {
    condition = (
      !var.cicd.enabled || !var.cicd.create_connection ||
      !contains(["GitHubEnterpriseServer", "GitLabSelfManaged"], var.cicd.provider_type) ||
      var.cicd.host_arn != ""
    )
    error_message = "cicd.host_arn is required for GitHubEnterpriseServer and GitLabSelfManaged connections."
  }

  validation {
    condition     = var.cicd.host_arn == "" || can(regex("^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:host/.+$", var.cicd.host_arn))
    error_message = "cicd.host_arn must be a CodeStar connections host ARN."
  }

  validation {
    condition     = !var.cicd.enabled || var.cicd.create_connection || var.cicd.connection_arn != ""
    error_message = "With cicd.create_connection = false, cicd.connection_arn must name the connection to reuse."
  }

  validation {
    condition     = var.cicd.connection_arn == "" || can(regex("^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:connection/.+$", var.cicd.connection_arn))
    error_message = "cicd.connection_arn must be a CodeStar connection ARN."
  }

  validation {
    condition     = var.cicd.branch == "" || can(regex("^[A-Za-z0-9._/-]+$", var.cicd.branch))
    error_message = "cicd.branch must be empty (the tier's branch) or a branch name."
  }

  validation {
    condition     = var.cicd.controlplane_api_url == "" || can(regex("^https://", var.cicd.controlplane_api_url))
    error_message = "cicd.controlplane_api_url must be empty or an https:// URL."
  }

  validation {
    condition     = !var.cicd.enabled || var.cicd.controlplane_package != ""
    error_message = "cicd.controlplane_package (pip requirement of the control plane's package) is required when cicd.enabled = true: the hand-off installs cartctl from it."
  }

  validation {
    condition     = !startswith(var.cicd.controlplane_package, "s3://") || can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+", var.cicd.controlplane_package))
    error_message = "An s3:// cicd.controlplane_package must be s3://<bucket>/<key>."
  }

  validation {
    condition     = !var.cicd.enabled || var.cicd.controlplane_api_url != ""
    error_message = "cicd.controlplane_api_url (terraform/controlplane output api_url) is required when cicd.enabled = true: the pipeline hands every deploy to the control plane."
  }
}
