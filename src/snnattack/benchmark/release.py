"""The released protocol files and their hashes: ``experiments/benchmark/released.sha256``.

A released protocol file is never edited (docs/benchmark.md, "Versions"): its sha256 is
recorded, one ``<sha256>  <file>`` line per file (``sha256sum``'s form), when it is released.
An entry records the hash of the protocol file it ran, and the leaderboard ranks it only when
that hash is the recorded one, so a file edited locally (fewer attacks, a smaller test subset)
and still named ``digits_v1`` gives entries listed apart. The tests fail when a released file
differs from its recorded hash.

``python -m snnattack.benchmark.release`` records the hash of every protocol file of the
folder not recorded yet (a new version), each read as a protocol first, and refuses, in one
line, a recorded file that changed, a new one its block and name disagree on, a missing folder.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from snnattack.benchmark.protocol import PROTOCOL_DIR, available, protocol
from snnattack.errors import UserError
from snnattack.runtime.cli import ArgumentParser, refuse

HASHES = "released.sha256"  # in the protocols' folder: one "<sha256>  <file name>" a line


def sha256_of(path: Path) -> str:
    """The sha256 of the file at ``path`` (hex)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recorded(folder: Path = PROTOCOL_DIR) -> dict[str, str]:
    """The recorded hash of each released file of ``folder`` by file name ({} if none)."""
    path = folder / HASHES
    if not path.is_file():
        return {}
    found = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            raise UserError(
                f"{path}:{number}: {line[:80]!r} is not a hash line; accepted: "
                "'<sha256>  <file name>' (python -m snnattack.benchmark.release)"
            )
        found[name] = digest
    return found


def files(folder: Path = PROTOCOL_DIR) -> list[Path]:
    """The protocol files of ``folder`` (``<name>_v<version>.yaml``)."""
    return [
        folder / f"{n}_v{v}.yaml" for n, versions in available(folder).items() for v in versions
    ]


def changed(folder: Path = PROTOCOL_DIR) -> list[str]:
    """One line per recorded file of ``folder`` that differs from its hash or is gone."""
    lines = []
    for name, digest in recorded(folder).items():
        path = folder / name
        if not path.is_file():
            lines.append(f"{path} is gone (released with sha256 {digest[:12]}...)")
        elif (now := sha256_of(path)) != digest:
            lines.append(
                f"{path} changed since its release (sha256 {now[:12]}..., released "
                f"{digest[:12]}...)"
            )
    return lines


def release(folder: Path = PROTOCOL_DIR) -> list[Path]:
    """Records the hash of every protocol file of ``folder`` not recorded yet and returns
    them, each read first as a protocol (one whose block names another protocol or version
    would stay unusable, never edited once released); the module's refusals are one UserError
    line, and nothing recorded."""
    if not folder.is_dir():
        raise UserError(
            f"FOLDER={str(folder)!r} is not a folder; accepted: a folder of protocol files "
            "(<name>_v<version>.yaml)"
        )
    if lines := changed(folder):
        raise UserError(
            f"{lines[0]}; accepted: the released file as it was (git checkout), a change as "
            "a new version <protocol>_v<k+1>.yaml"
        )
    known = recorded(folder)
    new = [p for p in files(folder) if p.name not in known]
    for path in new:
        protocol(path.stem, folder=folder)
    if new:
        with open(folder / HASHES, "a") as f:
            f.writelines(f"{sha256_of(p)}  {p.name}\n" for p in new)
    return new


def main(argv: list[str] | None = None) -> int:
    """The command line: the files released, or one line and exit 2."""
    parser = ArgumentParser(
        prog="python -m snnattack.benchmark.release",
        description=f"Record the sha256 of new protocol files in {HASHES}.",
    )
    parser.add_argument("folder", type=Path, nargs="?", default=PROTOCOL_DIR, metavar="FOLDER")
    args = parser.parse_args(argv)
    try:
        new = release(args.folder)
    except UserError as err:
        refuse(err)
    for path in new:
        print(f"released {path}")
    if not files(args.folder):
        print(f"nothing to release: {args.folder} holds no protocol file (<name>_v<version>.yaml)")
    elif not new:
        print(f"nothing to release: every protocol file in {args.folder} is recorded in {HASHES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
