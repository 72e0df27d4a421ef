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

variable "vpc_id" {
  description = "VPC of the load balancer."
  type        = string
}

variable "vpc_cidr_block" {
  description = "VPC CIDR; the ALB may only send traffic into the VPC, on the container port."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr_block, 0))
    error_message = "vpc_cidr_block must be a valid CIDR."
  }
}

variable "public_subnet_ids" {
  description = "Public subnets, at least two (one per AZ)."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "An ALB needs subnets in at least two AZs."
  }
}

variable "container_port" {
  description = "Port the cart container listens on (target group port)."
  type        = number
  default     = 8080

  validation {
    condition     = var.container_port > 0 && var.container_port < 65536
    error_message = "container_port must be a TCP port."
  }
}

variable "health_check_path" {
  description = "HTTP path the target group probes."
  type        = string
  default     = "/health"

  validation {
    condition     = startswith(var.health_check_path, "/")
    error_message = "health_check_path must start with /."
  }
}

variable "ingress_cidr_blocks" {
  description = "Client CIDRs allowed to reach the listeners."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for c in var.ingress_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "Every ingress_cidr_blocks entry must be a valid CIDR."
  }
}

variable "certificate_arn" {
  description = "ACM certificate for an HTTPS listener. When set, port 80 redirects to 443; when empty (dev, offline tests) port 80 forwards."
  type        = string
  default     = ""

  validation {
    condition     = var.certificate_arn == "" || can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be empty or an ACM certificate ARN."
  }
}

variable "deletion_protection" {
  description = "Protect the ALB from deletion (prod: true)."
  type        = bool
  default     = true
}

variable "access_logs_bucket" {
  description = "S3 bucket for ALB access logs; empty disables them."
  type        = string
  default     = ""
}

variable "deregistration_delay" {
  description = "Seconds the target group drains a deregistering task."
  type        = number
  default     = 30

  validation {
    condition     = var.deregistration_delay >= 0 && var.deregistration_delay <= 3600
    error_message = "deregistration_delay must be 0-3600."
  }
}
