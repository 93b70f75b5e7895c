"""The order gateway: WebSocket protocol, signature checks, limits and feeds (docs/protocol.md)."""
