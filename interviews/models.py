"""The domain: the original API's models plus what the real-time path needs."""

from __future__ import annotations

import math
import re
import secrets
import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

# A session's planned length; the interviewer paces its questions by it.
DURATION_MIN_MINUTES = 1
DURATION_MAX_MINUTES = 600
# An accommodation: extra seconds of silence a candidate may pause before the
# turn rule ends their answer (live/turn_rule.py adds it to every wait).
EXTRA_TIME_MAX_S = 30.0
EXTRA_TIME_MESSAGE = "Extra time must be a number of seconds from 0 to 30."


def validate_extra_time(value: float) -> None:
    """0 to EXTRA_TIME_MAX_S seconds, a real number (not NaN or infinite); one
    message for every way in (REST, the dashboard, the admin)."""
    finite = isinstance(value, int | float) and math.isfinite(value)
    if not finite or not 0 <= value <= EXTRA_TIME_MAX_S:
        raise ValidationError(EXTRA_TIME_MESSAGE, code="extra_time")


def new_join_token() -> str:
    return secrets.token_urlsafe(24)


def default_language() -> str:
    return settings.RT.default_language


# Stored files (recorded answers, reports) are private: never served from a
# public URL, and named so that no one can guess a name from a candidate's name
# or a date. 18 random bytes: 144 bits, 24 URL-safe characters.
PRIVATE_NAME_BYTES = 18
PRIVATE_NAME = re.compile(r"^(audio|reports)/\d{4}/\d{2}/[A-Za-z0-9_-]{24}(\.[a-z0-9]{1,5})?$")
_EXTENSION = re.compile(r"^\.[a-z0-9]{1,5}$")


def private_file_name(folder: str, original_name: str, *, default_extension: str) -> str:
    """`<folder>/<yyyy>/<mm>/<random>.<ext>`: only the original's extension is kept."""
    extension = PurePosixPath(original_name or "").suffix.lower()
    if not _EXTENSION.match(extension):
        extension = default_extension
    token = secrets.token_urlsafe(PRIVATE_NAME_BYTES)
    return f"{folder}/{timezone.now():%Y/%m}/{token}{extension}"


def audio_upload_to(instance: models.Model, filename: str) -> str:
    return private_file_name("audio", filename, default_extension=".wav")


def report_upload_to(instance: models.Model, filename: str) -> str:
    return private_file_name("reports", filename, default_extension=".pdf")


class Interviewer(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="interviewer_profiles",
    )
    name = models.CharField(max_length=200)
    email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class Student(models.Model):
    name = models.CharField(max_length=200)
    email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class InterviewSession(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    session_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    interviewer = models.ForeignKey(Interviewer, on_delete=models.PROTECT, related_name="sessions")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="sessions")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    duration_minutes = models.PositiveIntegerField(
        default=30,
        validators=[
            MinValueValidator(DURATION_MIN_MINUTES),
            MaxValueValidator(DURATION_MAX_MINUTES),
        ],
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.SCHEDULED, db_index=True
    )
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Real-time additions.
    join_token = models.CharField(max_length=64, default=new_join_token, unique=True)
    language = models.CharField(max_length=16, default=default_language)
    last_seq = models.PositiveBigIntegerField(default=0)
    # The interviewer's progress through the plan (question index, follow-ups,
    # whether the AI conversation is open); owned by the interviewer (PlanState).
    ai_state = models.JSONField(default=dict, blank=True)
    evaluation = models.JSONField(null=True, blank=True)
    extra_time_s = models.FloatField(
        default=0.0,
        validators=[validate_extra_time],
        help_text="Accommodation: extra seconds of silence the candidate may pause "
        "before their answer is taken as finished (0 to 30).",
    )

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.title} ({self.student.name})"


class Question(models.Model):
    class Difficulty(models.TextChoices):
        EASY = "easy", "Easy"
        MEDIUM = "medium", "Medium"
        HARD = "hard", "Hard"

    # No session: the question is in the bank.
    session = models.ForeignKey(
        InterviewSession,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="questions",
    )
    question_text = models.TextField()
    category = models.CharField(max_length=100, blank=True, default="")
    difficulty = models.CharField(
        max_length=10, choices=Difficulty.choices, default=Difficulty.MEDIUM
    )
    order = models.IntegerField(default=0)
    expected_answer = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.question_text[:80]


class Conversation(models.Model):
    class Speaker(models.TextChoices):
        AI = "ai", "AI"
        STUDENT = "student", "Student"

    session = models.ForeignKey(
        InterviewSession, on_delete=models.CASCADE, related_name="conversations"
    )
    question = models.ForeignKey(
        Question, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    speaker = models.CharField(max_length=10, choices=Speaker.choices)
    message = models.TextField()
    audio_file = models.FileField(upload_to=audio_upload_to, null=True, blank=True)
    timestamp = models.DateTimeField(auto_now_add=True)
    # The seq of the event that recorded this row (turn.committed / ai.message).
    seq = models.PositiveBigIntegerField(null=True, blank=True)
    # Speech facts for metrics and the report (start/end/words); empty for typed text.
    speech = models.JSONField(default=dict, blank=True)
    # An AI reply taken back: the candidate went on with the answer it replied
    # to (docs/protocol.md, "Take-back"). Kept for audit; left out of the
    # conversation list by default, of the prompt, the report and the review.
    retracted = models.BooleanField(default=False)

    class Meta:
        ordering = ["timestamp", "id"]

    def __str__(self) -> str:
        return f"{self.speaker}: {self.message[:60]}"


class SessionEvent(models.Model):
    """Every persisted event of a session, in seq order; `resume` reads it."""

    class Audience(models.TextChoices):
        ALL = "all", "Everyone in the session"
        OBSERVERS = "observers", "Observers only"

    session = models.ForeignKey(InterviewSession, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    type = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.ALL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "seq"]
        constraints = [models.UniqueConstraint(fields=["session", "seq"], name="unique_event_seq")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.type}"


class InterviewReport(models.Model):
    session = models.OneToOneField(
        InterviewSession, on_delete=models.CASCADE, related_name="report"
    )
    pdf_file = models.FileField(upload_to=report_upload_to)
    generated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-generated_at"]

    def __str__(self) -> str:
        return f"Report for {self.session}"


class Decision(models.Model):
    """A hiring decision on an interview; the newest one is the current decision
    (earlier ones stay as its history)."""

    class Outcome(models.TextChoices):
        ADVANCE = "advance", "Advance"
        HOLD = "hold", "Hold"
        REJECT = "reject", "Reject"

    session = models.ForeignKey(
        InterviewSession, on_delete=models.CASCADE, related_name="decisions"
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    rationale = models.TextField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept beside the FK so the record still says who once the user is deleted.
    decided_by_name = models.CharField(max_length=150, blank=True, default="")
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} by {self.decided_by_name or '?'}"


class AuditEntry(models.Model):
    """A staff action on an interview. Holds no candidate data (ids and counts
    only in `detail`), so it survives erasure as it is."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        VIEWED = "viewed", "Viewed"
        NOTE = "note", "Note"
        SUGGESTION = "suggestion", "Suggestion"
        DECISION = "decision", "Decision"
        REPORT = "report", "Report"
        STARTED = "started", "Started"
        ENDED = "ended", "Ended"
        CANCELLED = "cancelled", "Cancelled"
        LINK_ROTATED = "link_rotated", "Join link rotated"
        ACCOMMODATION = "accommodation", "Extra time changed"
        ERASURE = "erasure", "Candidate data erased"

    session = models.ForeignKey(
        InterviewSession,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name or '?'}: {self.action}"


class Erasure(models.Model):
    """The record that a candidate's data was erased: when, by whom, what was
    removed (counts), and the anonymous placeholder their interviews now name."""

    placeholder = models.ForeignKey(
        Student, null=True, blank=True, on_delete=models.SET_NULL, related_name="erasures"
    )
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    erased_by_name = models.CharField(max_length=150, blank=True, default="")
    erased_at = models.DateTimeField(auto_now_add=True)
    # What was removed, by kind: {"conversations": 12, "audio_files": 4, ...}.
    removed = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-erased_at", "-id"]

    def __str__(self) -> str:
        return f"Erasure #{self.pk} on {self.erased_at:%Y-%m-%d}"
