"""``python -m snnattack [-m] key=value ...``: the command line (:mod:`snnattack.command`)."""

from snnattack.command import main

main()
