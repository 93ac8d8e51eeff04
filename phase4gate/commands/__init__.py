"""One module per subcommand: ``add_arguments(parser)`` and ``run(args) -> int``.

Modules import only ``argparse`` at the top; the work is imported inside ``run``.
"""
