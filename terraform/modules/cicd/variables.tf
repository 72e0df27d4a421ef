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

variable "enable_cicd" {
  description = "Create the CodePipeline (source on repository_id, branch `branch`) and its CodeStar connection. The image build project and the artifact bucket exist either way: the control plane's build uses them."
  type        = bool
  default     = false
}

variable "create_codestar_connection" {
  description = "Create a new CodeStar connection (it starts PENDING and needs one manual authorization in the console). false: reuse codestar_connection_arn."
  type        = bool
  default     = true
}

variable "codestar_provider_type" {
  description = "Source provider of the connection: GitHub, Bitbucket, GitLab, GitHubEnterpriseServer or GitLabSelfManaged (the last two need codestar_host_arn)."
  type        = string
  default     = "GitHub"

  validation {
    condition     = contains(["GitHub", "Bitbucket", "GitLab", "GitHubEnterpriseServer", "GitLabSelfManaged"], var.codestar_provider_type)
    error_message = "codestar_provider_type must be one of GitHub, Bitbucket, GitLab, GitHubEnterpriseServer, GitLabSelfManaged."
  }
}

variable "repository_id" {
  description = "Source repository as owner/repo (required when enable_cicd = true)."
  type        = string
  default     = ""

  validation {
    condition     = var.repository_id == "" || can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.repository_id))
    error_message = "repository_id must look like owner/repo."
  }

  validation {
    condition     = !var.enable_cicd || var.repository_id != ""
    error_message = "repository_id (owner/repo) is required when enable_cicd = true."
  }
}

variable "codestar_connection_name" {
  description = "Name of the connection to create; \"\" (default) generates cart-service-<env>, or cart-<env> when that would exceed AWS's 32-character limit (README \"Connection name\")."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.codestar_connection_name == "" || can(regex("^[A-Za-z0-9_.-]{1,32}$", var.codestar_connection_name))
    error_message = "codestar_connection_name must be empty (generated) or 1-32 letters, digits, '.', '_' or '-' (an AWS limit)."
  }
}

variable "codestar_host_arn" {
  description = "Host ARN for GitHubEnterpriseServer / GitLabSelfManaged connections (required for those, ignored otherwise)."
  type        = string
  default     = ""

  validation {
    condition     = var.codestar_host_arn == "" || can(regex("^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:host/.+$", var.codestar_host_arn))
    error_message = "codestar_host_arn must be a CodeStar connections host ARN."
  }

  validation {
    condition = (
      !var.enable_cicd || !var.create_codestar_connection ||
      !contains(["GitHubEnterpriseServer", "GitLabSelfManaged"], var.codestar_provider_type) ||
      var.codestar_host_arn != ""
    )
    error_message = "codestar_host_arn is required for GitHubEnterpriseServer and GitLabSelfManaged connections."
  }
}

variable "codestar_connection_arn" {
  description = "Existing connection to reuse (create_codestar_connection = false)."
  type        = string
  default     = ""

  validation {
    condition     = var.codestar_connection_arn == "" || can(regex("^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:connection/.+$", var.codestar_connection_arn))
    error_message = "codestar_connection_arn must be a CodeStar connection ARN."
  }

  validation {
    condition     = !var.enable_cicd || var.create_codestar_connection || var.codestar_connection_arn != ""
    error_message = "With create_codestar_connection = false, codestar_connection_arn must name the connection to reuse."
  }
}

variable "branch" {
  description = "Branch whose pushes trigger the pipeline (the environment module picks the tier's: develop for dev, main for staging and prod)."
  type        = string
  default     = "develop"

  validation {
    condition     = length(var.branch) > 0
    error_message = "branch must not be empty."
  }
}

variable "controlplane_api_url" {
  description = "Base URL of the control plane API (terraform/controlplane output api_url): the hand-off runs cartctl against it (CARTCTL_ENDPOINT), and its role may invoke this environment's deployment and operation routes of that API only."
  type        = string
  default     = ""

  validation {
    condition     = var.controlplane_api_url == "" || can(regex("^https://", var.controlplane_api_url))
    error_message = "controlplane_api_url must be empty or an https:// URL."
  }

  validation {
    condition     = !var.enable_cicd || var.controlplane_api_url != ""
    error_message = "controlplane_api_url is required when enable_cicd = true."
  }
}

variable "controlplane_package" {
  description = "pip requirement of the control plane's package, which installs the cartctl CLI the hand-off runs: e.g. git+https://github.com/<org>/<repo>@<tag>, an https:// wheel URL, a name==version from an index, or s3://<bucket>/<key>.whl (copied first; the hand-off role may read exactly that object)."
  type        = string
  default     = ""

  validation {
    condition     = !var.enable_cicd || var.controlplane_package != ""
    error_message = "controlplane_package is required when enable_cicd = true: the hand-off installs cartctl from it."
  }

  validation {
    condition     = !startswith(var.controlplane_package, "s3://") || can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+", var.controlplane_package))
    error_message = "An s3:// controlplane_package must be s3://<bucket>/<key>."
  }
}

variable "approval_required" {
  description = "Put a manual approval stage between Build and HandOff (prod)."
  type        = bool
  default     = false
}

variable "approval_topic_arn" {
  description = "SNS topic the approval stage announces itself on (the environment's notification topic); empty: no notification."
  type        = string
  default     = ""
}

variable "handoff_timeout_minutes" {
  description = "Timeout of the hand-off build, which waits for the deploy to end (the control plane's own deploy timeout plus a margin)."
  type        = number
  default     = 60

  validation {
    condition     = var.handoff_timeout_minutes >= 5 && var.handoff_timeout_minutes <= 480
    error_message = "handoff_timeout_minutes must be 5-480."
  }
}

variable "artifact_bucket_name" {
  description = "Name of the build source / pipeline artifact bucket to create."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.artifact_bucket_name))
    error_message = "artifact_bucket_name must be a valid S3 bucket name."
  }
}

variable "image_project_name" {
  description = "CodeBuild project the control plane starts (contract: codebuild_project_name, cart-service-<env>-image)."
  type        = string
}

variable "codebuild_role_arn" {
  description = "Service role of the CodeBuild projects (iam module)."
  type        = string
}

variable "codebuild_role_name" {
  description = "Name of that role: with CI/CD it may use the connection, so the control plane's builds clone the repository through it."
  type        = string
  default     = ""
}

variable "ecr_repository_url" {
  description = "Repository the builds push to."
  type        = string
}

variable "kms_key_arn" {
  description = "Environment KMS key (artifacts, build logs)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "build_log_retention_days" {
  description = "Retention of the CodeBuild log groups."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.build_log_retention_days)
    error_message = "build_log_retention_days must be a retention CloudWatch Logs accepts."
  }
}

variable "build_image" {
  description = "CodeBuild image for the builds."
  type        = string
  default     = "aws/codebuild/amazonlinux2-x86_64-standard:5.0"
}

variable "build_timeout_minutes" {
  description = "Timeout of one build."
  type        = number
  default     = 30

  validation {
    condition     = var.build_timeout_minutes >= 5 && var.build_timeout_minutes <= 480
    error_message = "build_timeout_minutes must be 5-480."
  }
}
