"""purge_recordings: recorded answers older than the retention period leave
storage, their transcripts stay; as cron would run it, repeatedly."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from interviews import services
from interviews.models import Conversation
from tests.erasure_data import stored_files, wav_upload

pytestmark = [pytest.mark.django_db, pytest.mark.db_backend]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def answer(session, text: str, *, days_old: float) -> Conversation:
    row = services.add_conversation(
        session=session, speaker="student", message=text, audio_file=wav_upload()
    )
    Conversation.objects.filter(pk=row.pk).update(
        timestamp=timezone.now() - timedelta(days=days_old)
    )
    row.refresh_from_db()
    return row


@pytest.fixture
def recordings(media, session, interviewer, student):
    """Two old answers and a recent one of an ended interview; an old one of a live interview."""
    old = [answer(session, f"Old answer {i}", days_old=40) for i in range(2)]
    recent = answer(session, "Recent answer", days_old=2)
    live = services.create_session(interviewer=interviewer, student=student, title="Live")
    services.transition_session(session=live, action="start")
    live_old = answer(live, "Live answer", days_old=40)
    return {"old": old, "recent": recent, "live": live_old}


def purge(*args: str, capture) -> str:
    out = StringIO()
    with capture(execute=True):
        call_command("purge_recordings", *args, stdout=out)
    return out.getvalue()


def exists(row: Conversation) -> bool:
    return row.audio_file.storage.exists(row.audio_file.name)


def test_recordings_older_than_the_setting_are_deleted_and_transcripts_stay(
    settings, recordings, django_capture_on_commit_callbacks
):
    settings.RT = replace(settings.RT, recording_retention_days=30)
    old_files = [(row, row.audio_file.name) for row in recordings["old"]]
    out = purge(capture=django_capture_on_commit_callbacks)
    assert "Deleted 2 recording(s)" in out
    for row, name in old_files:
        assert not row.audio_file.storage.exists(name)
        row.refresh_from_db()
        assert not row.audio_file and row.message.startswith("Old answer")
    assert exists(recordings["recent"]) and exists(recordings["live"])
    assert len(stored_files()) == 2

    again = purge(capture=django_capture_on_commit_callbacks)
    assert "Deleted 0 recording(s)" in again and len(stored_files()) == 2


def test_days_overrides_the_setting_and_dry_run_deletes_nothing(
    settings, recordings, django_capture_on_commit_callbacks
):
    settings.RT = replace(settings.RT, recording_retention_days=30)
    out = purge("--days", "1", "--dry-run", capture=django_capture_on_commit_callbacks)
    assert "Would delete 3 recording(s)" in out and "dry run" in out
    assert len(stored_files()) == 4
    assert Conversation.objects.exclude(audio_file="").count() == 4

    out = purge("--days", "1", capture=django_capture_on_commit_callbacks)
    assert "Deleted 3 recording(s)" in out
    assert len(stored_files()) == 1 and exists(recordings["live"])


def test_without_retention_nothing_is_deleted(recordings, django_capture_on_commit_callbacks):
    out = purge(capture=django_capture_on_commit_callbacks)
    assert "kept forever" in out and "--days" in out
    assert len(stored_files()) == 4


def test_a_missing_file_is_cleared_without_an_error(recordings, django_capture_on_commit_callbacks):
    row = recordings["old"][0]
    row.audio_file.storage.delete(row.audio_file.name)
    out = purge("--days", "30", capture=django_capture_on_commit_callbacks)
    assert "Deleted 2 recording(s)" in out
    row.refresh_from_db()
    assert not row.audio_file


def test_a_negative_number_of_days_is_refused(recordings):
    with pytest.raises(CommandError, match="0 or more"):
        call_command("purge_recordings", "--days", "-1", stdout=StringIO())
    assert len(stored_files()) == 4
