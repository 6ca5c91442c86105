"""`python -m app.cli`: the `afi` command without its entry point on PATH."""

from app.cli import main

main()
