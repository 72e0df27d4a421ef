output "bus_name" {
  description = "Event bus name."
  value       = aws_cloudwatch_event_bus.this.name
}

output "bus_arn" {
  description = "Event bus ARN."
  value       = aws_cloudwatch_event_bus.this.arn
}

output "queue_url" {
  description = "URL of the events queue."
  value       = aws_sqs_queue.events.id
}

output "queue_arn" {
  description = "ARN of the events queue."
  value       = aws_sqs_queue.events.arn
}

output "queue_name" {
  description = "Name of the events queue."
  value       = aws_sqs_queue.events.name
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Name of the dead-letter queue (the cloudwatch module alarms on its depth)."
  value       = aws_sqs_queue.dlq.name
}

output "rule_arns" {
  description = "Rule ARNs by short name."
  value       = { for k, r in aws_cloudwatch_event_rule.this : k => r.arn }
}
