"""``perpdex sim chaos``: bots trade through a ``perpdex up`` node that is SIGKILLed and
restarted on a chain that outlives it; the harness then checks, from the journal, the
chain's events, the bots' streams and the gateway's account views, that nothing was lost,
settled twice or left unreported.

* ``node``: ``perpdex up`` as a subprocess (start, SIGKILL, stop, its memory);
* ``memory``: resident memory of a process tree, sampled, and its slope;
* ``metrics``: the invariants from the collected evidence (pure);
* ``evidence``: the evidence read from the chain, the journal and the gateway;
* ``scenario``: one run.
"""
