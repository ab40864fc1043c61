"""Train (or reuse) spiking networks and attack them: ``python run.py [-m] key=value ...``.

The same command as ``snnattack`` and ``python -m snnattack`` (:mod:`snnattack.command`).
"""

from snnattack.command import main

if __name__ == "__main__":
    main()
