"""Configuration: YAML and --set overrides into a validated RunConfig."""
