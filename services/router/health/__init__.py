"""Provider health as the router sees it: active probes of every active provider, passive
evidence from the gateways' outcome reports, and the status published with each provider."""
