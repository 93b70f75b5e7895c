"""Chain access: compile contracts, run a local anvil node, deploy, and the deployment file."""
