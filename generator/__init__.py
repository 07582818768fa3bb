"""asyncapi-gen: AsyncAPI to pydantic models, a durable receiver and contract tests."""

__version__ = "0.1.0"
