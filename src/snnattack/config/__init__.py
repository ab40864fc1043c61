"""The config before any work: its keys (:mod:`.keys`), its validation (:mod:`.validation`),
its one compose function (:mod:`.compose`) and its own blocks parsed (:mod:`.parse`).

Nothing is imported here, so that the command line's checks of keys and group choices
(:mod:`.keys`, :mod:`snnattack.runtime.cli`) and ``--help`` answer without loading torch.
"""
