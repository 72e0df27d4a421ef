# The cart data table. Point-in-time recovery and KMS encryption always on; on-demand or provisioned with
# Application Auto Scaling on reads and writes.

locals {
  provisioned = var.billing_mode == "PROVISIONED"
  scale       = local.provisioned && var.autoscaling
}

resource "aws_dynamodb_table" "this" {
  name         = var.table_name
  billing_mode = var.billing_mode
  hash_key     = var.hash_key
  range_key    = var.range_key

  read_capacity  = local.provisioned ? var.capacity.read_min : null
  write_capacity = local.provisioned ? var.capacity.write_min : null

  attribute {
    name = var.hash_key
    type = "S"
  }

  attribute {
    name = var.range_key
    type = "S"
  }

  dynamic "ttl" {
    for_each = var.ttl_attribute == "" ? [] : [var.ttl_attribute]
    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  deletion_protection_enabled = var.deletion_protection

  tags = var.tags

  lifecycle {
    # Autoscaling moves the capacity; Terraform must not pull it back on every apply.
    ignore_changes = [read_capacity, write_capacity]
  }
}

resource "aws_appautoscaling_target" "read" {
  count              = local.scale ? 1 : 0
  service_namespace  = "dynamodb"
  resource_id        = "table/${aws_dynamodb_table.this.name}"
  scalable_dimension = "dynamodb:table:ReadCapacityUnits"
  min_capacity       = var.capacity.read_min
  max_capacity       = var.capacity.read_max
  tags               = var.tags
}

resource "aws_appautoscaling_policy" "read" {
  count              = local.scale ? 1 : 0
  name               = "${var.table_name}-read"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.read[0].service_namespace
  resource_id        = aws_appautoscaling_target.read[0].resource_id
  scalable_dimension = aws_appautoscaling_target.read[0].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = var.capacity.target_percent
    predefined_metric_specification {
      predefined_metric_type = "DynamoDBReadCapacityUtilization"
    }
  }
}

resource "aws_appautoscaling_target" "write" {
  count              = local.scale ? 1 : 0
  service_namespace  = "dynamodb"
  resource_id        = "table/${aws_dynamodb_table.this.name}"
  scalable_dimension = "dynamodb:table:WriteCapacityUnits"
  min_capacity       = var.capacity.write_min
  max_capacity       = var.capacity.write_max
  tags               = var.tags
}

resource "aws_appautoscaling_policy" "write" {
  count              = local.scale ? 1 : 0
  name               = "${var.table_name}-write"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.write[0].service_namespace
  resource_id        = aws_appautoscaling_target.write[0].resource_id
  scalable_dimension = aws_appautoscaling_target.write[0].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = var.capacity.target_percent
    predefined_metric_specification {
      predefined_metric_type = "DynamoDBWriteCapacityUtilization"
    }
  }
}
