output "artifact_bucket_name" {
  description = "Build source / pipeline artifact bucket (the control plane uploads build sources under source/)."
  value       = aws_s3_bucket.artifacts.bucket
}

output "image_project_name" {
  description = "Image CodeBuild project (contract: codebuild_project_name)."
  value       = aws_codebuild_project.image.name
}

output "image_project_arn" {
  description = "Image CodeBuild project ARN."
  value       = aws_codebuild_project.image.arn
}

output "pipeline_name" {
  description = "CodePipeline name, or null when CI/CD is disabled."
  value       = var.enable_cicd ? aws_codepipeline.this[0].name : null
}

output "codestar_connection_arn" {
  description = "ARN of the connection the pipeline uses (created or reused), or null when CI/CD is disabled."
  value       = local.connection_arn
}

output "codestar_connection_status" {
  description = "PENDING until someone authorizes the connection once in the console, then AVAILABLE; null when CI/CD is disabled."
  value       = local.connection_status
}

output "codestar_connection_name" {
  description = "Name of the connection created here (null when reused or disabled)."
  value       = local.create_connection ? local.connection_name : null
}

output "handoff_role_arn" {
  description = "Role of the HandOff project (this environment's deployment and operation routes of the API only); null without CI/CD."
  value       = one(aws_iam_role.handoff[*].arn)
}

output "pipeline_role_arn" {
  description = "Role of the pipeline; null without CI/CD."
  value       = one(aws_iam_role.pipeline[*].arn)
}

output "codebuild_connection_policy" {
  description = "The policy that lets the image project's role clone through the connection; null without CI/CD."
  value       = local.codebuild_connection_policy
}
