"""The `shouwang` command: Django's management commands plus our own.

`shouwang serve`, `shouwang demo` and `shouwang import-residents FILE` are management commands
of the core app; the dashes are for people, the underscores for Python.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shouwang.settings")
    if len(args) > 1 and not args[1].startswith("-"):
        args[1] = args[1].replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(args)


if __name__ == "__main__":
    main()
