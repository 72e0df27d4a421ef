terraform {
  required_version = ">= 1.10.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Partial configuration: bucket and region come from `terraform init -backend-config=...` (see README).
  # State locking uses S3 lock files (use_lockfile, Terraform >= 1.10), not the legacy DynamoDB table.
  backend "s3" {
    key          = "environments/staging/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      "cart:environment" = var.environment
      "cart:managed-by"  = "terraform"
    })
  }
}
