"""The price catalog (docs/pricing.md): list prices and context windows of common models, looked
up by name, alias or dated name, and the registrations it prices."""
