"""``python -m snnattack.report DIR``: write the report of a job or sweep folder into it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from snnattack.errors import UserError
from snnattack.report import write_report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m snnattack.report", description=__doc__)
    parser.add_argument("folder", type=Path, help="a job or sweep folder (metrics.json below it)")
    args = parser.parse_args(argv)
    try:
        report = write_report(args.folder)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    for path in report.files.values():
        print(path)


if __name__ == "__main__":
    main()
