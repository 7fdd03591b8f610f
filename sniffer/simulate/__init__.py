"""Simulated devices and peers, built from the dissectors' own specs, over real sockets.

One module per protocol, each with ``add_arguments(parser)`` and ``run(args)`` for
``camshark simulate <protocol>``; they also generate the sample captures in ``captures/``.
"""
