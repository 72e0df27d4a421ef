output "repository_name" {
  description = "Repository name (contract: ecr_repository_name)."
  value       = aws_ecr_repository.this.name
}

output "repository_arn" {
  description = "Repository ARN."
  value       = aws_ecr_repository.this.arn
}

output "repository_url" {
  description = "Repository URL for docker push/pull."
  value       = aws_ecr_repository.this.repository_url
}

output "image_tag_mutability" {
  description = "IMMUTABLE or MUTABLE (the dev tier's, which takes latest again and again)."
  value       = aws_ecr_repository.this.image_tag_mutability
}
