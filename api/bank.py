"""The question bank over REST: list it, build a session's plan from it, and
draft questions from a job description with the LLM (see docs/interviewer.md)."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from interviewer import bank
from interviews import selectors
from interviews.models import InterviewSession, Question

from . import serializers as s
from .views import Pagination

ERRORS = {code: s.ErrorSerializer for code in (400, 401, 403, 404)}


class FromBankSerializer(serializers.Serializer):
    question_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        allow_empty=False,
        max_length=200,
        help_text="Bank questions to copy, in this order. Excludes the filters below.",
    )
    category = serializers.CharField(
        required=False, max_length=100, help_text="Case-insensitive match."
    )
    difficulty = serializers.ChoiceField(choices=Question.Difficulty.choices, required=False)
    count = serializers.IntegerField(
        required=False, min_value=1, max_value=200, help_text="At most this many; default all."
    )

    def validate(self, attrs):
        filters = [k for k in ("category", "difficulty", "count") if k in attrs]
        if attrs.get("question_ids") and filters:
            raise serializers.ValidationError(
                {"question_ids": f"Give question_ids or {', '.join(filters)}, not both."}
            )
        return attrs


class GenerateSerializer(serializers.Serializer):
    job_description = serializers.CharField(max_length=20_000)
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    count = serializers.IntegerField(required=False, default=5, min_value=1, max_value=20)
    category = serializers.CharField(required=False, allow_blank=True, max_length=100)
    difficulty = serializers.ChoiceField(
        choices=Question.Difficulty.choices, required=False, allow_blank=True
    )
    language = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=16,
        help_text="ISO 639-1; default the session's language, else the server default.",
    )
    save = serializers.BooleanField(
        required=False,
        default=False,
        help_text="false (default): return drafts for review, save nothing. true: save them.",
    )
    session = s.SessionField(
        queryset=InterviewSession.objects.all(),
        required=False,
        allow_null=True,
        help_text="Save into this session's plan (id or UUID); without it, into the bank.",
    )


class DraftSerializer(serializers.Serializer):
    question_text = serializers.CharField()
    category = serializers.CharField()
    difficulty = serializers.ChoiceField(choices=Question.Difficulty.choices)
    expected_answer = serializers.CharField(allow_blank=True)


class GenerateResponseSerializer(serializers.Serializer):
    saved = serializers.BooleanField()
    questions = DraftSerializer(many=True, help_text="Drafts; with save=true, the saved rows.")


class BankQuestionListView(generics.ListAPIView):
    """Questions of the bank (no session), in bank order."""

    serializer_class = s.QuestionSerializer
    pagination_class = Pagination

    @extend_schema(
        parameters=[
            OpenApiParameter("category", str, description="Case-insensitive match."),
            OpenApiParameter("difficulty", str, enum=[c[0] for c in Question.Difficulty.choices]),
        ],
        responses={200: s.QuestionSerializer(many=True), **ERRORS},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        return bank.bank_questions(
            category=params.get("category"), difficulty=params.get("difficulty")
        )


class SessionQuestionsFromBankView(APIView):
    @extend_schema(
        operation_id="sessions_questions_from_bank",
        request=FromBankSerializer,
        responses={201: s.QuestionSerializer(many=True), **ERRORS},
        description=(
            "Copy bank questions into the session's plan, appended after its questions: "
            "by `question_ids`, or the first `count` bank questions matching `category` "
            "and/or `difficulty` that the session does not already have."
        ),
    )
    def post(self, request, id: str):
        session = selectors.session_get(id)
        form = FromBankSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        created = bank.pick_for_session(session=session, **form.validated_data)
        return Response(
            s.QuestionSerializer(created, many=True, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class GenerateQuestionsView(APIView):
    @extend_schema(
        operation_id="questions_generate",
        request=GenerateSerializer,
        responses={
            200: OpenApiResponse(GenerateResponseSerializer, description="Drafts, not saved."),
            201: OpenApiResponse(GenerateResponseSerializer, description="Saved (save=true)."),
            **ERRORS,
            502: OpenApiResponse(s.ErrorSerializer, description="The model's reply was invalid."),
            503: OpenApiResponse(s.ErrorSerializer, description="No language model configured."),
        },
        description=(
            "Draft interview questions from a job description with the configured language "
            "model. By default the drafts are returned for review and nothing is saved; save "
            "reviewed drafts with POST /api/questions/bulk_create/, or send save=true to save "
            "them as they are (into `session`'s plan, or into the bank)."
        ),
    )
    def post(self, request):
        form = GenerateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        session = data.get("session")
        drafts = async_to_sync(bank.draft_questions)(
            job_description=data["job_description"],
            count=data["count"],
            category=data.get("category", ""),
            difficulty=data.get("difficulty", ""),
            language=data.get("language") or (session.language if session else ""),
            title=data.get("title") or (session.title if session else ""),
        )
        if not data["save"]:
            return Response({"saved": False, "questions": drafts})
        created = bank.save_drafts(drafts=drafts, session=session)
        return Response(
            {
                "saved": True,
                "questions": s.QuestionSerializer(
                    created, many=True, context={"request": request}
                ).data,
            },
            status=status.HTTP_201_CREATED,
        )
