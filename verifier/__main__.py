"""`python -m verifier` runs the toolgate command line."""

from verifier.entry import main

main()
