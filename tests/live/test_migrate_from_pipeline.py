"""A database made before the live app moved from pipeline/ to live/ migrates
forward with nothing lost: the app label "pipeline" keeps its migration
history and its table (fixtures/make_database_b4c2e77.sh made the database
with the code of commit b4c2e77)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OLD_DATABASE = Path(__file__).with_name("fixtures") / "database_b4c2e77.sqlite3"

READ_BACK = """
import json
from interviews.models import Conversation, InterviewSession
from live.models import LiveConnection
session = InterviewSession.objects.get()
print(json.dumps({
    "session": str(session.session_id),
    "questions": session.questions.count(),
    "answers": list(Conversation.objects.values_list("message", flat=True)),
    "connections": list(LiveConnection.objects.values_list("session__session_id", "channel_name", "role")),
}, default=str))
"""


def manage(database: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_SETTINGS_MODULE": "interview_rt.settings.test",
    }
    env.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_database_of_the_old_layout_migrates_with_its_rows(tmp_path):
    database = tmp_path / "old.sqlite3"
    shutil.copy(OLD_DATABASE, database)
    with sqlite3.connect(database) as db:
        applied_before = set(db.execute("SELECT app, name FROM django_migrations"))
    assert ("pipeline", "0001_initial") in applied_before

    migrated = manage(database, "migrate", "--no-input")
    assert migrated.returncode == 0, migrated.stderr
    check = manage(database, "migrate", "--check")  # nothing left unapplied
    assert check.returncode == 0, check.stdout + check.stderr

    with sqlite3.connect(database) as db:
        applied_after = set(db.execute("SELECT app, name FROM django_migrations"))
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert applied_before <= applied_after  # history kept, not re-applied under a new name
    assert not any(app == "live" for app, _ in applied_after)
    assert "pipeline_liveconnection" in tables and "live_liveconnection" not in tables

    read = manage(database, "shell", "-c", READ_BACK)
    assert read.returncode == 0, read.stderr
    rows = json.loads(read.stdout.strip().splitlines()[-1])
    assert rows["questions"] == 3 and rows["answers"] == ["저는 엔지니어입니다"]
    assert rows["connections"] == [[rows["session"], "specific.old!1", "candidate"]]
