"""Where the provider registry is kept: one `RegistryStore` protocol, one module per backend."""
