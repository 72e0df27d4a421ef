# The dev environment: its row of the settings table (docs/contract.md) and its state (versions.tf). Everything
# else is modules/environment, shared by dev, staging and prod.

module "environment" {
  source = "../../modules/environment"

  environment = "dev"
  tier        = "dev"
  vpc_cidr    = "10.10.0.0/16"

  settings = {
    nat_gateway          = "single" # one NAT gateway shared by both AZs
    desired_count        = 1
    min_count            = 1
    max_count            = 1
    dynamodb             = "on-demand"
    autoscaling          = false
    fargate_spot         = true # Spot capacity: dev can be interrupted
    cpu_target_percent   = 60
    task_cpu             = "256"
    task_memory          = "512"
    log_retention_days   = 14
    deletion_protection  = false
    image_tag_mutability = "MUTABLE" # CI/CD and developers push latest again and again
  }

  certificate_arn = var.certificate_arn
  alarm_email     = var.alarm_email
  cicd            = var.cicd
}
