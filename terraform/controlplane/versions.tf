terraform {
  required_version = ">= 1.10.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Partial configuration: bucket and region come from `terraform init -backend-config=...` (see README).
  backend "s3" {
    key          = "controlplane/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      "cart:component"  = "controlplane"
      "cart:managed-by" = "terraform"
    })
  }
}
