"""Admitted interviews' places, kept in the database so they outlive a restart.

speech/admission.py writes them: a session admitted to live audio keeps its
place across its turns, reconnects and a server restart, until the session
ends or no audio stream has been open for it for settings.RT.stt_admission_idle_s.
"""

from django.db import models


class SpeechPlace(models.Model):
    # Keyed by the session's public UUID: the speech room is given that, not the row.
    session = models.OneToOneField(
        "interviews.InterviewSession",
        to_field="session_id",
        db_column="session_uuid",
        on_delete=models.CASCADE,
        related_name="speech_place",
    )
    admitted_at = models.DateTimeField()
    # Refreshed while an audio stream is open for the session (a heartbeat).
    active_at = models.DateTimeField(db_index=True)
    # host:pid of the process that holds the session's stream (for operators).
    process = models.CharField(max_length=100, blank=True, default="")

    def __str__(self) -> str:
        return f"speech place of {self.session_id}"
