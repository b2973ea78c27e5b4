"""Shapes and validates; writes go through interviews.services."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.fields.files import FieldFile
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from interviews import selectors
from interviews.models import (
    DURATION_MAX_MINUTES,
    DURATION_MIN_MINUTES,
    EXTRA_TIME_MAX_S,
    EXTRA_TIME_MESSAGE,
    Conversation,
    Decision,
    Interviewer,
    InterviewReport,
    InterviewSession,
    Question,
    Student,
)


class PrivateFileURLField(serializers.FileField):
    """Takes an upload like any FileField; reads as the absolute URL of the
    authenticated view that serves the file (null when there is none)."""

    def __init__(self, *, path_of, **kwargs):
        self.path_of = path_of
        super().__init__(**kwargs)

    def to_representation(self, value: FieldFile | None) -> str | None:
        if not value or not value.name:
            return None
        path = self.path_of(value.instance)
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class InterviewerSerializer(serializers.ModelSerializer):
    user = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Interviewer
        fields = ["id", "user", "name", "email", "created_at"]


class StudentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Student
        fields = ["id", "name", "email", "created_at"]


class DecisionSerializer(serializers.ModelSerializer):
    """A hiring decision as the API shows it (api/decisions.py records them)."""

    outcome_display = serializers.CharField(source="get_outcome_display", read_only=True)
    decided_by = serializers.CharField(
        source="decided_by_name",
        read_only=True,
        help_text="The staff user's username (kept if the user is deleted later).",
    )

    class Meta:
        model = Decision
        fields = ["id", "outcome", "outcome_display", "rationale", "decided_by", "decided_at"]
        read_only_fields = fields


class SessionSerializer(serializers.ModelSerializer):
    interviewer_id = serializers.PrimaryKeyRelatedField(
        source="interviewer", queryset=Interviewer.objects.all(), write_only=True
    )
    student_id = serializers.PrimaryKeyRelatedField(
        source="student", queryset=Student.objects.all(), write_only=True
    )
    interviewer = InterviewerSerializer(read_only=True)
    student = StudentSerializer(read_only=True)
    join_url = serializers.SerializerMethodField()
    dashboard_url = serializers.SerializerMethodField()
    duration_minutes = serializers.IntegerField(
        min_value=DURATION_MIN_MINUTES, max_value=DURATION_MAX_MINUTES, default=30
    )
    language = serializers.CharField(max_length=16, required=False)
    extra_time_s = serializers.FloatField(
        min_value=0.0,
        max_value=EXTRA_TIME_MAX_S,
        required=False,
        error_messages={
            "invalid": EXTRA_TIME_MESSAGE,
            "null": EXTRA_TIME_MESSAGE,
            "min_value": EXTRA_TIME_MESSAGE,
            "max_value": EXTRA_TIME_MESSAGE,
        },
        help_text="Accommodation: extra seconds of silence (0 to 30, default 0) the candidate "
        "may pause before an answer is taken as finished; the turn rule adds it to every "
        "silence it waits. Editable while the session is scheduled or in progress (409 after).",
    )
    decision = serializers.SerializerMethodField(
        help_text="The current hiring decision (the newest), or null; "
        "history at /api/sessions/{id}/decision/."
    )

    class Meta:
        model = InterviewSession
        fields = [
            "id",
            "session_id",
            "interviewer_id",
            "student_id",
            "interviewer",
            "student",
            "title",
            "description",
            "duration_minutes",
            "status",
            "language",
            "scheduled_at",
            "extra_time_s",
            "started_at",
            "ended_at",
            "created_at",
            "updated_at",
            "join_url",
            "dashboard_url",
            "decision",
        ]
        read_only_fields = ["status", "started_at", "ended_at"]

    def validate(self, attrs):
        # `status` is read-only; silently ignoring a different value would hide
        # a client's mistake, so only a round-tripped (unchanged) one passes.
        wanted = self.initial_data.get("status") if hasattr(self.initial_data, "get") else None
        current = self.instance.status if self.instance else InterviewSession.Status.SCHEDULED
        if wanted is not None and wanted != current:
            raise serializers.ValidationError(
                {
                    "status": "The status changes only through POST "
                    "/api/sessions/{id}/start/, /end/ or /cancel/."
                }
            )
        return attrs

    def get_join_url(self, session: InterviewSession) -> str:
        return selectors.join_url(session)

    def get_dashboard_url(self, session: InterviewSession) -> str:
        return selectors.dashboard_url(session)

    @extend_schema_field(DecisionSerializer(allow_null=True))
    def get_decision(self, session: InterviewSession) -> dict | None:
        decision = selectors.current_decision(session)
        return DecisionSerializer(decision).data if decision else None


class SessionField(serializers.PrimaryKeyRelatedField):
    """A session by integer id (as the original took it) or by UUID."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            return selectors.session_get(data)
        except Exception:
            self.fail("does_not_exist", pk_value=data)


class QuestionSerializer(serializers.ModelSerializer):
    session = SessionField(
        queryset=InterviewSession.objects.all(),
        required=False,
        allow_null=True,
        help_text="The session's integer id or UUID; null or absent: the question bank.",
    )
    session_id = serializers.UUIDField(source="session.session_id", read_only=True, allow_null=True)
    order = serializers.IntegerField(
        min_value=0,
        max_value=1_000_000,
        required=False,
        help_text="Position in the session; absent: after the session's last question.",
    )

    class Meta:
        model = Question
        fields = [
            "id",
            "session",
            "session_id",
            "question_text",
            "category",
            "difficulty",
            "order",
            "expected_answer",
            "created_at",
        ]


class QuestionBulkSerializer(serializers.Serializer):
    questions = serializers.ListField(
        child=serializers.DictField(), allow_empty=False, max_length=500
    )


class ConversationSerializer(serializers.ModelSerializer):
    session = SessionField(queryset=InterviewSession.objects.all())
    session_id = serializers.UUIDField(source="session.session_id", read_only=True)
    question = serializers.PrimaryKeyRelatedField(
        queryset=Question.objects.all(), required=False, allow_null=True
    )
    message = serializers.CharField(max_length=100_000)
    audio_file = PrivateFileURLField(
        path_of=selectors.conversation_audio_path,
        required=False,
        allow_null=True,
        help_text="Write: an audio upload (multipart). Read: the URL that serves the "
        "recording to staff (GET /api/conversations/{id}/audio/, Range supported); "
        "null when the turn has none.",
    )

    class Meta:
        model = Conversation
        fields = [
            "id",
            "session",
            "session_id",
            "question",
            "speaker",
            "message",
            "audio_file",
            "timestamp",
            "seq",
            "speech",
            "retracted",
        ]
        # speech: word timings and how a spoken turn ended ({} for typed text);
        # retracted: an AI reply taken back (the candidate went on with the answer).
        read_only_fields = ["timestamp", "seq", "speech", "retracted"]

    def validate(self, attrs):
        question = attrs.get("question")
        if question is not None and question.session_id != attrs["session"].pk:
            raise serializers.ValidationError(
                {"question": "This question belongs to another session."}
            )
        return attrs


class SessionUUIDField(serializers.UUIDField):
    """The session's UUID as a string; DRF would also read an integer as UUID(int=n),
    which turns a session's integer id into a baffling unknown UUID."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError(
                "Must be the session's UUID (its session_id) as a string, not its integer id."
            )
        return super().to_internal_value(data)


class VoiceToTextSerializer(serializers.Serializer):
    audio_file = serializers.FileField()
    session_id = SessionUUIDField(required=False)


class WordSerializer(serializers.Serializer):
    word = serializers.CharField()
    start = serializers.FloatField()
    end = serializers.FloatField()
    conf = serializers.FloatField()


class VoiceToTextResponseSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True)
    duration_s = serializers.FloatField()
    words = WordSerializer(many=True)


class AiInterviewSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["initialize", "respond", "end"])
    session_id = SessionUUIDField()
    student_response = serializers.CharField(
        required=False, allow_blank=False, trim_whitespace=True
    )

    def validate(self, attrs):
        if attrs["action"] == "respond":
            text = attrs.get("student_response")
            if not text:
                raise serializers.ValidationError(
                    {"student_response": "Required for action 'respond'."}
                )
            limit = settings.RT.answer_max_chars
            if len(text) > limit:
                raise serializers.ValidationError(
                    {"student_response": f"At most {limit} characters."}
                )
        return attrs


class AiInterviewResponseSerializer(serializers.Serializer):
    action = serializers.CharField()
    session_id = serializers.UUIDField()
    message = serializers.CharField(allow_null=True)
    conversation_id = serializers.IntegerField(allow_null=True)
    question_id = serializers.IntegerField(allow_null=True)
    interview_closed = serializers.BooleanField()


class ReportSerializer(serializers.ModelSerializer):
    session = serializers.PrimaryKeyRelatedField(read_only=True)
    session_id = serializers.UUIDField(source="session.session_id", read_only=True)
    download_url = serializers.SerializerMethodField()
    pdf_file = PrivateFileURLField(
        path_of=selectors.report_download_path,
        read_only=True,
        allow_null=True,
        help_text="The URL that serves the PDF to staff (the same as download_url).",
    )

    class Meta:
        model = InterviewReport
        fields = ["id", "session", "session_id", "pdf_file", "generated_at", "download_url"]

    @extend_schema_field(serializers.CharField())
    def get_download_url(self, report: InterviewReport) -> str:
        path = selectors.report_download_path(report)
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class ReportGenerateSerializer(serializers.Serializer):
    session_id = SessionUUIDField()


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    """The body of a refusal or a domain error; validation errors name fields instead."""

    detail = serializers.CharField()
    code = serializers.CharField()
