"""`shouwang import-residents FILE --area ID`: the roster import, from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shouwang.core import audit
from shouwang.core.models import Area, User
from shouwang.core.services.roster import ImportReport, RowError, check_file, import_roster


class Command(BaseCommand):
    help = "Import residents from a .xlsx or .csv roster into a compound; all rows or none."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--area", required=True, help="id of the compound (or village), or its exact name"
        )
        parser.add_argument("--user", help="import as this staff member (scoped, audited)")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check the file and print what would be created and changed; write nothing",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        area_arg: str = options["area"]
        areas = (
            Area.objects.filter(pk=int(area_arg))
            if area_arg.isdigit()
            else Area.objects.filter(name=area_arg)
        )
        if areas.count() != 1:
            raise CommandError(f"--area {area_arg!r} matches {areas.count()} areas; use its id")
        actor = None
        if options["user"]:
            actor = User.objects.filter(username=options["user"], is_active=True).first()
            if actor is None:
                raise CommandError(f"no active user {options['user']!r}")
        with audit.origin("cli"):
            try:
                if options["dry_run"]:
                    report, _planned = check_file(actor, areas.get(), path.name, path.read_bytes())
                else:
                    report = import_roster(actor, areas.get(), path.name, path.read_bytes())
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
        for warning in report.warnings:
            self.stderr.write(f"warning {_where(warning)}: {warning.reason}")
        if not report.ok:
            for error in report.errors:
                self.stderr.write(f"{_where(error)}: {error.reason}")
            raise CommandError(
                f"{path.name} rejected: {len(report.errors)} problem(s); nothing was imported"
            )
        self.stdout.write(self.style.SUCCESS(_summary(report, dry_run=options["dry_run"])))


def _where(problem: RowError) -> str:
    if not problem.row:
        return "file"
    column = f"{problem.letter} {problem.column}".strip()
    return f"row {problem.row} {column}"


def _summary(report: ImportReport, dry_run: bool) -> str:
    verb = "would be" if dry_run else "were"
    text = (
        f"{report.rows} rows: {report.created_people} new, "
        f"{report.updated_people} changed, {report.unchanged_people} unchanged; "
        f"{report.created_households} new households {verb} created"
    )
    if report.skipped_rows:
        text += f"; rows not read as residents: {', '.join(map(str, report.skipped_rows))}"
    return text
