"""The plugin system: loading entry points, the component registries, lifecycle members, error attribution."""
