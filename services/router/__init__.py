"""The provider router: owns the provider registry (endpoints, prices, capabilities, SLOs) and
serves the selection function at POST /select and the registry snapshot the gateway follows."""
