"""Registry adapters: DynamoDB for AWS, in-memory for unit tests."""
