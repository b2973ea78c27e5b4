"""Migration 0004 gives files stored under the old guessable names random ones:
rows point at the new names, the files moved, the old names are gone, the
views serve them; a missing file is logged and left, a second run changes
nothing."""

from __future__ import annotations

import importlib
import logging
import re
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings

from interviews.models import Conversation, InterviewReport

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("interviews", "0003_decisions_audit_erasure")]
AFTER = [("interviews", "0004_private_file_names")]
AUDIO_NAME = re.compile(r"^audio/2026/12/[A-Za-z0-9_-]{24}\.wav$")
REPORT_NAME = re.compile(r"^reports/2026/12/[A-Za-z0-9_-]{24}\.pdf$")

OLD_AUDIO = "audio/2026/12/02/turn-5f3a9c1e2b7d-1.wav"
LOST_AUDIO = "audio/2026/11/30/turn-5f3a9c1e2b7d-9.wav"
RENAMED_AUDIO = "audio/2026/12/AAAAAAAAAAAAAAAAAAAAAAAA.wav"
OLD_REPORT = "reports/2026/12/interview-lee-candidate-2026-12-02.pdf"
AUDIO_BYTES = b"RIFF....WAVEfmt " + bytes(range(256)) * 4
REPORT_BYTES = b"%PDF-1.4 Lee Candidate's report"


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest() -> list[tuple[str, str]]:
    """Every app's newest migration: the schema the current models expect."""
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture(autouse=True)
def schema_restored():
    """Later migrations add columns the rest of the suite needs: put them back."""
    yield
    migrate(latest())


@pytest.fixture
def media(tmp_path):
    with override_settings(MEDIA_ROOT=str(tmp_path)):
        yield tmp_path


def store(name: str, content: bytes) -> None:
    assert default_storage.save(name, ContentFile(content)) == name


@pytest.fixture
def old_rows(media):
    """Rows and files as the code before 0004 left them."""
    apps = migrate(BEFORE)
    interviewer = apps.get_model("interviews", "Interviewer").objects.create(
        name="John Doe", email="john@example.com"
    )
    student = apps.get_model("interviews", "Student").objects.create(
        name="Lee Candidate", email="lee@example.com"
    )
    session = apps.get_model("interviews", "InterviewSession").objects.create(
        interviewer=interviewer, student=student, title="Lee's interview", status="completed"
    )
    conversation = apps.get_model("interviews", "Conversation")
    rows = {}
    for key, name in (("old", OLD_AUDIO), ("lost", LOST_AUDIO), ("renamed", RENAMED_AUDIO)):
        if key != "lost":
            store(name, AUDIO_BYTES)
        rows[key] = conversation.objects.create(
            session=session, speaker="student", message=key, audio_file=name
        ).pk
    rows["typed"] = conversation.objects.create(session=session, speaker="ai", message="Hi").pk
    store(OLD_REPORT, REPORT_BYTES)
    report = apps.get_model("interviews", "InterviewReport").objects.create(
        session=session, pdf_file=OLD_REPORT
    )
    rows["report"], rows["generated_at"] = report.pk, report.generated_at
    return rows


def test_old_names_become_random_and_the_views_serve_the_files(
    old_rows, media, staff_client, caplog
):
    with caplog.at_level(logging.WARNING, logger="interviews.migrations"):
        migrate(AFTER)
    migrate(latest())  # later migrations leave the files alone; the models read their columns

    moved = Conversation.objects.get(pk=old_rows["old"]).audio_file.name
    assert AUDIO_NAME.match(moved), moved
    assert (media / moved).read_bytes() == AUDIO_BYTES
    assert not (media / OLD_AUDIO).exists()
    report = InterviewReport.objects.get(pk=old_rows["report"])
    assert REPORT_NAME.match(report.pdf_file.name), report.pdf_file.name
    assert (media / report.pdf_file.name).read_bytes() == REPORT_BYTES
    assert not (media / OLD_REPORT).exists()
    assert report.generated_at == old_rows["generated_at"]  # not touched by the rename

    # Already random: left alone. Missing: left as it is, and said so (by row id only).
    assert Conversation.objects.get(pk=old_rows["renamed"]).audio_file.name == RENAMED_AUDIO
    assert (media / RENAMED_AUDIO).read_bytes() == AUDIO_BYTES
    assert Conversation.objects.get(pk=old_rows["lost"]).audio_file.name == LOST_AUDIO
    warnings = [r.getMessage() for r in caplog.records if r.name == "interviews.migrations"]
    assert warnings == [
        f"Conversation {old_rows['lost']}: its stored file is missing; the row is left as it is."
    ]
    assert not Conversation.objects.get(pk=old_rows["typed"]).audio_file

    files = sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file())
    assert files == sorted([moved, RENAMED_AUDIO, report.pdf_file.name])

    r = staff_client.get(f"/api/conversations/{old_rows['old']}/audio/")
    assert r.status_code == 200 and b"".join(r.streaming_content) == AUDIO_BYTES
    r = staff_client.get(f"/api/reports/{old_rows['report']}/download/")
    assert r.status_code == 200 and b"".join(r.streaming_content) == REPORT_BYTES
    assert 'filename="interview-lee-candidate-' in r["Content-Disposition"]
    assert staff_client.get(f"/api/conversations/{old_rows['lost']}/audio/").status_code == 404


def test_running_it_again_changes_nothing(old_rows, media):
    migrate(AFTER)
    names = dict(Conversation.objects.values_list("pk", "audio_file"))
    report_name = InterviewReport.objects.get().pdf_file.name
    before = sorted(p for p in media.rglob("*") if p.is_file())

    migration = importlib.import_module("interviews.migrations.0004_private_file_names")
    migration.forwards(migrate(AFTER), None)

    assert dict(Conversation.objects.values_list("pk", "audio_file")) == names
    assert InterviewReport.objects.get().pdf_file.name == report_name
    assert sorted(p for p in media.rglob("*") if p.is_file()) == before


def test_it_runs_on_an_empty_database(media):
    migrate(BEFORE)
    migrate(AFTER)
    assert not any(Path(media).rglob("*.*"))
