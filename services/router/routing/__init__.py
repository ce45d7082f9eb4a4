"""The router's routing configuration: validation, the YAML file loaded at start."""
