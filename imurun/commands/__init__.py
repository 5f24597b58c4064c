"""One module per `imurun` command (the table is in imurun/cli.py): `add_arguments(parser)` and
`main(args)`, a thin layer over the library modules that do the work."""
