"""``trailbook export`` and ``trailbook verify --export`` as a user meets them: real
processes, files written beside each other, one line on failure and exit 1."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from trailbook.service.app import Trailbook
from trailbook.service.demo import demo_events
from trailbook.settings import load_settings


def run(data_dir: Path, *args: str, cwd: Path | None = None
        ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRAILBOOK_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "trailbook", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def flat(text: str) -> str:
    return " ".join(text.split())


DEMO_END_US = 1_795_201_600_000_000  # 2026-11-19T15:46:40Z: 5 of the 120 failed


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A data folder with tenant acme holding 120 demo events (ending at a fixed time:
    which demo events fail depends on the time of day they fall on)."""
    data = tmp_path / "data"
    with Trailbook.open(load_settings(data_dir=data)) as tb:
        tenant = tb.tenants.create("acme")
        tb.events.ingest(tenant, [tb.events.parse_event(orjson.dumps(e))
                                  for e in demo_events(120, seed=5, end_us=DEMO_END_US)])
    return data


def public_key(data: Path) -> str:
    with Trailbook.open(load_settings(data_dir=data), migrate=False) as tb:
        return tb.signer.public_description()["public_key"]


def test_export_writes_the_file_and_its_manifest_and_verify_checks_them(
        home: Path, tmp_path: Path) -> None:
    out = tmp_path / "failures.csv"
    made = run(home, "export", "result:failure", "--format", "csv", "-o", str(out),
               "--tz", "Europe/Berlin")
    assert made.returncode == 0, made.stderr
    rows = list(csv.reader(io.StringIO(out.read_text("utf-8-sig"), newline="")))
    count = len(rows) - 1
    assert 0 < count < 120 and {r[8] for r in rows[1:]} == {"failure"}
    assert flat(made.stdout).startswith(f"exported {count:,} rows to {out}")
    manifest = tmp_path / "failures.csv.manifest.json"
    assert f"signed manifest {manifest}" in flat(made.stdout)
    assert all(r[2].endswith(("+01:00", "+02:00")) for r in rows[1:])

    key_file = tmp_path / "key.pem"
    with Trailbook.open(load_settings(data_dir=home), migrate=False) as tb:
        key_file.write_text(tb.signer.public_description()["public_key_pem"])
    ok = run(tmp_path / "elsewhere", "verify", "--export", str(out), "--public-key",
             str(key_file))
    assert ok.returncode == 0, ok.stderr
    assert flat(ok.stdout).startswith(f"OK failures.csv: {count:,} rows of tenant acme as "
                                      "exported (csv)")
    assert not (tmp_path / "elsewhere").exists()  # offline: no data folder was opened

    # One cell changed: exit 1, one line naming the row.
    rows[3][24] = "edited"
    from trailbook.service.export.csv import BOM, csv_line

    out.write_bytes(BOM + "".join(csv_line(r)[1] for r in rows).encode())
    seq = orjson.loads(manifest.read_bytes())["manifest"]["row_seqs"][2]
    bad = run(home, "verify", "--export", str(out), "--manifest", str(manifest),
              "--public-key", public_key(home))
    assert bad.returncode == 1
    first = bad.stderr.splitlines()[0]
    assert first.startswith(f"CHANGED failures.csv: row 3 (seq {seq}): changed"), bad.stderr


@pytest.mark.parametrize("fmt", ["xlsx", "ndjson"])
def test_export_names_the_file_itself_and_counts_rows(home: Path, tmp_path: Path,
                                                      fmt: str) -> None:
    made = run(home, "export", "--format", fmt, "--tenant", "acme", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    [written] = [p for p in tmp_path.iterdir() if p.suffix == f".{fmt}"]
    assert written.name.startswith("trailbook-acme-")
    assert (tmp_path / f"{written.name}.manifest.json").exists()
    assert "exported 120 rows" in flat(made.stdout)
    ok = run(home, "verify", "--export", str(written), "--public-key", public_key(home),
             "--json")
    assert ok.returncode == 0, ok.stderr
    report = orjson.loads(ok.stdout)
    assert report["ok"] and report["rows_found"] == 120


def test_bad_export_and_verify_arguments_are_one_line_errors(home: Path,
                                                             tmp_path: Path) -> None:
    for args, message in (
        (["export", "--format", "pdf", "-o", str(tmp_path / "x.pdf")],
         "error: unknown export format (format: one of: csv, xlsx, json, ndjson)"),
        (["export", "--tz", "Mars/Base", "-o", str(tmp_path / "x.csv")],
         "error: unknown time zone (tz: 'Mars/Base' is not an IANA time zone name"),
        (["verify", "--export", str(tmp_path / "none.csv"), "--public-key", "AAAA"],
         "error: no file at"),
        (["verify", "--export", str(tmp_path / "none.csv")], "error: --export needs --public-key"),
    ):
        result = run(home, *args)
        assert result.returncode == 1, (args, result.stdout)
        assert result.stderr.startswith(message), (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not list(tmp_path.glob("x.*"))
