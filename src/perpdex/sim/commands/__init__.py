"""The ``perpdex sim`` sub-commands: one module each, with ``add_arguments`` and ``run``.

They import their models inside ``run``, so building the ``perpdex`` parser stays fast.
"""
