"""Live connections, for presence counts that hold across server processes."""

from django.db import models


class LiveConnection(models.Model):
    class Role(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        OBSERVER = "observer", "Observer"

    session = models.ForeignKey(
        "interviews.InterviewSession", on_delete=models.CASCADE, related_name="live_connections"
    )
    channel_name = models.CharField(max_length=200, unique=True)
    role = models.CharField(max_length=10, choices=Role.choices)
    last_seen = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.role} on {self.session_id}"
