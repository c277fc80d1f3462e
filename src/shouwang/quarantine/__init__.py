"""Home-quarantine cases, health checks, the services log and the care watch."""
