"""`python -m verifier` runs the toolgate command line."""

from verifier.cli import main

main()
