output "cluster_name" {
  description = "ECS cluster name (contract: cluster_name)."
  value       = aws_ecs_cluster.this.name
}

output "container_insights_log_group" {
  description = "Log group Container Insights writes the cluster's performance events to (created by ECS; contract: container_insights_log_group)."
  value       = "/aws/ecs/containerinsights/${aws_ecs_cluster.this.name}/performance"
}

output "cluster_arn" {
  description = "ECS cluster ARN."
  value       = aws_ecs_cluster.this.arn
}

output "task_security_group_id" {
  description = "Security group for the cart tasks (contract: security_group_ids)."
  value       = aws_security_group.tasks.id
}

output "execution_role_arn" {
  description = "Task execution role (contract: execution_role_arn)."
  value       = aws_iam_role.execution.arn
}

output "execution_role_name" {
  description = "Task execution role name."
  value       = aws_iam_role.execution.name
}

output "task_role_arn" {
  description = "Task role (contract: task_role_arn)."
  value       = aws_iam_role.task.arn
}

output "task_role_name" {
  description = "Task role name."
  value       = aws_iam_role.task.name
}

output "exec_log_group_name" {
  description = "ECS Exec audit log group of the cluster."
  value       = aws_cloudwatch_log_group.exec.name
}

output "container_insights" {
  description = "Container Insights setting of the cluster."
  value       = one([for s in aws_ecs_cluster.this.setting : s.value if s.name == "containerInsights"])
}
