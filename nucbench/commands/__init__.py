"""One module per ``nucbench`` subcommand; each defines ``add_parser(subparsers, common)``."""
