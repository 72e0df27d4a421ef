terraform {
  # use_lockfile (native S3 state locking) needs Terraform >= 1.10.
  required_version = ">= 1.10.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # The backend root bootstraps the remote state of everything else, so its own state is local
  # (terraform/backend/terraform.tfstate, git-ignored). Keep that file safe, or migrate it into the
  # bucket after the first apply (see terraform/README.md, "State of the backend itself").
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      "cart:component"  = "tfstate"
      "cart:managed-by" = "terraform"
    }
  }
}
