"""Crashes, damaged files, backups and concurrent editors against real DuckDB files and processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pandas as pd
import pytest
from portfolio_files import load_rows

from portfolio.access import Actor
from portfolio.cli import main
from portfolio.errors import ConflictError, StoreError
from portfolio.models import AlignmentRow, InitiativeRow
from portfolio.store import Store

ROOT = Path(__file__).resolve().parents[1]
THEMES = [{"theme_id": "T1", "name": "Growth", "weight": "1"}]
INITIATIVES = [{"initiative_id": f"I{n}", "name": f"Initiative {n}", "segment": "strategic", "cost": "10.00",
                "description": "count=0"} for n in range(5)]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    store = Store(path)
    store.load(load_rows(tmp_path / "p", themes=THEMES, initiatives=INITIATIVES), "loader")
    store.close()
    return path


def snapshot(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    store = Store(path)
    try:
        portfolio = store.read()
        return portfolio.initiatives.drop(columns=["extra"]), portfolio.alignment, store.data_version()
    finally:
        store.close()


def run_until_killed(script: str, marker: str) -> None:
    """Run ``script`` in a fresh interpreter, wait for ``marker`` on its stdout, then SIGKILL it."""
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        for line in process.stdout:
            if line.strip() == marker:
                break
        else:
            raise AssertionError(f"the child never reached {marker!r}: {process.stderr.read()}")
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def test_kill_during_edit_keeps_last_commit(database):
    before = snapshot(database)
    run_until_killed(f"""
        from portfolio.store import Store
        store = Store({str(database)!r})
        with store.transaction() as cursor:
            cursor.execute("UPDATE initiatives SET name = 'half-written', cost = 0")
            cursor.execute("DELETE FROM alignment")
            print("inside", flush=True)
            import time
            time.sleep(120)
    """, "inside")
    after = snapshot(database)
    pd.testing.assert_frame_equal(after[0], before[0])
    pd.testing.assert_frame_equal(after[1], before[1])
    assert after[2] == before[2]


def test_kill_during_import_keeps_last_commit(database, tmp_path):
    bigger = tmp_path / "bigger"
    load_rows(bigger, themes=THEMES, initiatives=[
        {"initiative_id": f"N{n}", "name": f"New {n}", "segment": "strategic", "cost": "1.00"} for n in range(2000)])
    before = snapshot(database)
    run_until_killed(f"""
        import time
        from portfolio.importing import require_portfolio
        from portfolio.store import Store

        def stall(*args, **kwargs):
            # Called at the end of the load, inside its transaction, after every row was inserted.
            print("inserted", flush=True)
            time.sleep(120)

        Store.audit = staticmethod(stall)
        portfolio, _ = require_portfolio({str(bigger)!r})
        Store({str(database)!r}).load(portfolio, "importer")
    """, "inserted")
    after = snapshot(database)
    assert list(after[0]["initiative_id"]) == [f"I{n}" for n in range(5)]
    pd.testing.assert_frame_equal(after[0], before[0])
    assert after[2] == before[2]


def test_damaged_file_names_file_and_fix(tmp_path):
    path = tmp_path / "damaged.duckdb"
    path.write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(StoreError) as caught:
        Store(path)
    message = str(caught.value)
    assert str(path) in message
    assert "--db" in message


def test_foreign_duckdb_file_is_refused(tmp_path):
    import duckdb

    path = tmp_path / "other.duckdb"
    connection = duckdb.connect(str(path))
    connection.execute("CREATE TABLE sales (amount INTEGER)")
    connection.close()
    with pytest.raises(StoreError, match="not a Portfolio Lens workspace"):
        Store(path)


def test_backup_while_open_is_consistent(database, tmp_path):
    store = Store(database)
    target = store.backup(tmp_path / "backup.duckdb", "pmo")
    store.save_initiative(InitiativeRow(initiative_id="I9", name="After backup", segment="strategic", cost="1.00"),
                          [], "pmo", None)
    store.close()
    copy = Store(target)
    assert "I9" not in set(copy.read().initiatives["initiative_id"])
    assert len(copy.read().initiatives) == 5
    copy.close()


def test_backup_refused_for_viewer(database, tmp_path):
    from portfolio.access import AccessDeniedError

    store = Store(database)
    with pytest.raises(AccessDeniedError):
        store.backup(tmp_path / "b.duckdb", Actor(name="V", roles=frozenset({"viewer"})))
    store.close()


def test_backup_cli_says_when_file_is_held(database, tmp_path, capsys):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from portfolio.store import Store
        store = Store({str(database)!r})
        print("holding", flush=True)
        time.sleep(120)
    """)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "holding"
        code = main(["backup", str(database), str(tmp_path / "b.duckdb")])
        err = capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert code == 1
    assert f"{database} is open in a running app or command" in err
    assert "back up a live workspace from the app's Data page" in err
    assert "--db" not in err
    assert "Traceback" not in err


def test_backup_cli_rejects_non_workspace(database, tmp_path, capsys):
    folder = tmp_path / "folder"
    folder.mkdir()
    text_file = tmp_path / "themes.csv"
    text_file.write_text("theme_id,name,weight\nT1,Growth,1\n", encoding="utf-8")

    for source, problem in ((folder, "is a folder"), (text_file, "is not a DuckDB workspace file"),
                            (tmp_path / "missing.duckdb", "does not exist")):
        assert main(["backup", str(source), str(tmp_path / "b.duckdb")]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error: {source} {problem}; give the path of a workspace database file"), err
    assert text_file.read_text(encoding="utf-8") == "theme_id,name,weight\nT1,Growth,1\n"
    assert not (tmp_path / "b.duckdb").exists()


def test_backup_cli_rejects_folder_target(database, tmp_path, capsys):
    target = tmp_path / "outdir"
    target.mkdir()

    assert main(["backup", str(database), str(target)]) == 1

    assert f"error: {target} is a folder; give the path of the backup file to write" in capsys.readouterr().err
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    assert list(target.iterdir()) == []


def test_backup_failed_replace_leaves_nothing(database, tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside").write_text("keeps the folder non-empty", encoding="utf-8")
    store = Store(database)
    try:
        with pytest.raises(OSError):
            store.backup(target, "pmo")
    finally:
        store.close()
    assert not (tmp_path / ".taken.partial").exists()


def test_backup_cli_copies(database, tmp_path, capsys):
    assert main(["backup", str(database), str(tmp_path / "b.duckdb")]) == 0
    assert len(Store(tmp_path / "b.duckdb").read().initiatives) == 5


def test_concurrent_editors_lose_no_update(database):
    """Twenty threads each add 1 to a counter in overlapping initiatives, retrying on conflict."""
    store = Store(database)
    threads, rounds = 20, 6
    refused = []
    lock = threading.Lock()

    def editor(number: int) -> None:
        for step in range(rounds):
            initiative_id = f"I{(number + step) % 5}"
            while True:
                row = store.read().initiatives.set_index("initiative_id").loc[initiative_id]
                count = int(row["description"].removeprefix("count="))
                edit = InitiativeRow(initiative_id=initiative_id, name=row["name"], segment="strategic",
                                     cost="10.00", description=f"count={count + 1}")
                try:
                    store.save_initiative(edit, [AlignmentRow(initiative_id=initiative_id, theme_id="T1",
                                                              score=number % 9)],
                                          f"editor {number}", int(row["version"]))
                except ConflictError:
                    with lock:
                        refused.append(number)
                    continue
                break

    workers = [threading.Thread(target=editor, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    counts = store.read().initiatives["description"].str.removeprefix("count=").astype(int)
    lost = threads * rounds - int(counts.sum())
    # Reported in the test log (pytest -s or -rA) so that CI records the counts.
    print(f"concurrent editors: {threads * rounds} edits, {lost} lost, {len(refused)} refused then retried")  # noqa: T201
    assert lost == 0
    assert len(refused) > 0
    store.close()
