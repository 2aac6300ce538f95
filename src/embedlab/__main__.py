"""``python -m embedlab`` runs the CLI."""

from embedlab.cli import main

main()
