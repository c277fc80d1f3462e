"""Roster upload under hostile and worst-case files: peak memory and time of the read.

    .venv/bin/python bench/roster_import.py [--cases declared_range,millions_of_rows,...]

Each case runs in a fresh child process (so one case's peak does not hide another's): the
child starts Django, reads the file's bytes, notes its resident memory, then runs what the
upload runs on the file — `roster.read_file` (the safe reader: archive caps, streaming rows,
merged ranges, header and records) and `roster.parse` (every value normalised and checked) —
and reports its peak resident set size (VmHWM) and the time taken. The files:

- declared_range: ~100 KB declaring A1:XFD1048576 with 20,000 one-cell rows (the 20 s and
  2.76 GB file of issue 14);
- millions_of_rows: about 19 MB holding 2,500,000 rows;
- zip_bomb: ~1 MB unpacking to 1 GB;
- widest: 50,000 rows × 64 columns of distinct numbers (refused at the filled-cell limit);
- most_cells_allowed: 50,000 valid residents in 20 columns (the template's 7 and 13 more of
  distinct numbers): 1,000,000 filled cells, the most the limits let through, so the worst
  file that is read and parsed to the end;
- largest_roster: 50,000 residents in the template's 7 columns, all valid.

Prints one JSON object: for each case the file size, outcome (rows read or the refusal),
seconds, baseline and peak RSS in MB. The aim (issue 14): peak below 200 MB for every file
under the upload limit.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from bench.support import note  # noqa: E402

CASES = [
    "declared_range",
    "millions_of_rows",
    "zip_bomb",
    "widest",
    "most_cells_allowed",
    "largest_roster",
]


def build(case: str) -> bytes:
    from tests.core import hostile

    if case == "declared_range":
        return hostile.declared_huge_range(20_000)
    if case == "millions_of_rows":
        return hostile.many_rows(2_500_000)  # just under the 20 MB upload limit
    if case == "zip_bomb":
        return hostile.zip_bomb(1024)
    if case == "widest":
        return _widest()
    if case == "most_cells_allowed":
        return _largest_roster(extra_columns=13)
    if case == "largest_roster":
        return _largest_roster()
    raise SystemExit(f"unknown case {case}")


def _widest() -> bytes:
    def sheet() -> Any:
        from openpyxl.utils import get_column_letter
        from tests.core.hostile import SHEET_OPEN

        letters = [get_column_letter(c) for c in range(1, 65)]
        yield SHEET_OPEN + "<sheetData>"
        header = ["姓名", "楼栋", "门牌号"] + [f"备注{c}" for c in range(4, 65)]
        cells = "".join(
            f'<c r="{letters[i]}1" t="inlineStr"><is><t>{h}</t></is></c>'
            for i, h in enumerate(header)
        )
        yield f'<row r="1">{cells}</row>'
        value = 1_000_000
        for r in range(2, 50_001):
            parts = []
            for letter in letters:
                value += 1
                parts.append(f'<c r="{letter}{r}"><v>{value}</v></c>')
            yield f'<row r="{r}">{"".join(parts)}</row>'
        yield "</sheetData></worksheet>"

    from tests.core.hostile import workbook

    return workbook(sheet())


def _largest_roster(extra_columns: int = 0) -> bytes:
    from openpyxl import Workbook

    from shouwang.core.identity import id_check_char

    book = Workbook(write_only=True)
    sheet = book.create_sheet("花名册")
    extra = [f"备注{n}" for n in range(extra_columns)]
    sheet.append(["姓名", "身份证号", "手机号", "楼栋", "单元", "门牌号", "标签", *extra])
    for n in range(50_000):
        first17 = f"110105{1930 + n % 90}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
        building, unit, door = 1 + n // 1000, 1 + (n // 250) % 4, 101 + n % 250
        sheet.append(
            [
                f"居民{n}",
                first17 + id_check_char(first17),
                f"138{n:08d}",
                f"{building}号楼",
                f"{unit}单元",
                str(door),
                "老人" if n % 7 == 0 else "",
                *range(n * 100 + 1_000_000, n * 100 + 1_000_000 + extra_columns),
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _rss_mb() -> float:
    # The peak of this process's own memory (VmHWM). Not ru_maxrss: Linux carries the
    # parent's peak across fork and exec into it, and the parent has built the big files.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(path: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shouwang.settings")
    import django

    django.setup()
    from shouwang.core.models import Tag
    from shouwang.core.services import roster

    data = Path(path).read_bytes()
    vocabulary = roster.TagVocabulary(
        [Tag(pk=1, code="elderly", name="老年人"), Tag(pk=2, code="disabled", name="残疾人")]
    )
    baseline = _rss_mb()
    started = time.perf_counter()
    try:
        table = roster.read_file(Path(path).name, data)
        records = len(table.records)
        rows, errors, _warnings = roster.parse(table, vocabulary)
        outcome = f"read: {records} records, {len(rows)} valid, {len(errors)} errors"
    except roster.RosterFileError as exc:
        outcome = f"refused: {exc}"
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "outcome": outcome,
                "seconds": round(seconds, 2),
                "baseline_rss_mb": round(baseline, 1),
                "peak_rss_mb": round(_rss_mb(), 1),
            },
            ensure_ascii=False,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shouwang.settings")
    import django

    django.setup()
    results: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg()[0],
        "upload_limit_mb": int(os.environ.get("SHOUWANG_MAX_UPLOAD_MB", "20")),
    }
    with tempfile.TemporaryDirectory() as folder:
        for case in args.cases.split(","):
            note(f"building {case}")
            data = build(case)
            suffix = ".xlsx"
            path = Path(folder) / f"{case}{suffix}"
            path.write_bytes(data)
            note(f"reading {case} ({len(data) / 1e6:.2f} MB) in a child process")
            done = subprocess.run(  # noqa: S603 - this very script, our own arguments
                [sys.executable, __file__, "--child", str(path)],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if done.returncode != 0:
                results[case] = {"error": done.stderr[-2000:]}
                continue
            results[case] = {"file_kb": round(len(data) / 1024, 1)} | json.loads(
                done.stdout.strip().splitlines()[-1]
            )
    results["load_after"] = os.getloadavg()[0]
    results["max_peak_rss_mb"] = max(
        (v["peak_rss_mb"] for v in results.values() if isinstance(v, dict) and "peak_rss_mb" in v),
        default=None,
    )
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
