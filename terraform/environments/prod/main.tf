# The prod environment: its row of the settings table (docs/contract.md) and its state (versions.tf). Everything
# else is modules/environment, shared by dev, staging and prod.

module "environment" {
  source = "../../modules/environment"

  environment = "prod"
  tier        = "prod"
  vpc_cidr    = "10.30.0.0/16"

  settings = {
    nat_gateway          = "per_az" # one NAT gateway per AZ: an AZ outage keeps egress
    desired_count        = 3
    min_count            = 3
    max_count            = 10
    dynamodb             = "provisioned"
    autoscaling          = true
    fargate_spot         = false # on-demand Fargate only
    cpu_target_percent   = 60
    task_cpu             = "512"
    task_memory          = "1024"
    log_retention_days   = 365
    deletion_protection  = true
    image_tag_mutability = "IMMUTABLE" # a tag names one image for good
  }

  certificate_arn = var.certificate_arn
  alarm_email     = var.alarm_email
  cicd            = var.cicd
}
