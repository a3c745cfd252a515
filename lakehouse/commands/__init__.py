"""One module per `lakehouse` subcommand; each exposes `register(subparsers)`."""
