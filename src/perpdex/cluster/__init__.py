"""Cluster mode (issue 13): services as processes joined by NATS JetStream.

Foundations so far: NATS servers on loopback (``nats_server``), the stream and subject
layout (``streams``), and the engine journal on a JetStream stream (``journal``).
docs/architecture.md, "Cluster mode (issue 13), foundations".
"""
