"""``python -m snnattack.report DIR``: write the report of a job or sweep folder into it."""

from __future__ import annotations

from pathlib import Path

from snnattack.errors import ConfigError, UserError
from snnattack.report import write_report
from snnattack.runtime.cli import ArgumentParser, refuse


def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(
        prog="python -m snnattack.report",
        description="Write the report of a job or sweep folder into it.",
    )
    parser.add_argument("folder", type=Path, help="a job or sweep folder (metrics.json below it)")
    args = parser.parse_args(argv)
    try:
        if not args.folder.is_dir():
            raise ConfigError(
                f"folder={str(args.folder)!r} is not a folder; accepted: a job or sweep folder"
            )
        report = write_report(args.folder)
    except UserError as err:
        refuse(err)
    for path in report.files.values():
        print(path)


if __name__ == "__main__":
    main()
