"""The `shouwang` command: Django's management commands plus our own.

`shouwang serve`, `shouwang demo`, `shouwang ingest` and the other process entry points are
management commands of the runtime app, `shouwang import-residents FILE` one of core; the
dashes are for people, the underscores for Python.

Before Django reads the settings, the command makes sure SHOUWANG_VAR_DIR exists, and the
commands that set an installation up on this machine (`migrate`, `serve`, `demo`) create the
secrets that are neither given nor on file, except in production (SHOUWANG_HTTPS): there only
`shouwang init-secrets` creates them, explicitly, and a process without them stops with a
message saying so. Importing the settings alone creates nothing.
"""

from __future__ import annotations

import os
import sys

from shouwang import config

SETS_UP = frozenset({"migrate", "serve", "demo"})


def set_up(command: str) -> None:
    creates = command in SETS_UP and not config.env_flag("HTTPS")
    config.init_var_dir(
        config.var_dir(),
        secret_key=creates and not config.env("SECRET_KEY"),
        data_keys=creates and not config.env("DATA_KEYS"),
    )


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shouwang.settings")
    if len(args) > 1 and not args[1].startswith("-"):
        args[1] = args[1].replace("-", "_")
    set_up(args[1] if len(args) > 1 else "")
    from django.core.management import execute_from_command_line

    execute_from_command_line(args)


if __name__ == "__main__":
    main()
