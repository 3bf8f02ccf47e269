"""What an analyst writes: the project layout, YAML loading, file schemas and every rule."""
