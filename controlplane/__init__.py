"""Cart Service control plane: ordered, observable operations on the Cart Service's ECS environments."""

__version__ = "0.1.0"
