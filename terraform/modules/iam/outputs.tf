output "codebuild_role_arn" {
  description = "Service role of the environment's CodeBuild projects."
  value       = aws_iam_role.codebuild.arn
}

output "codebuild_role_name" {
  description = "Name of the CodeBuild service role."
  value       = aws_iam_role.codebuild.name
}
