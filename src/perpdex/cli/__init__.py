"""The ``perpdex`` command."""
