"""Virtual keys and their tenants (organisation -> team -> key)."""
