"""Run the command line: ``python -m forecast``."""

from forecast.cli import main

main()
