"""Built-in templates shipped with asyncapi-gen."""
