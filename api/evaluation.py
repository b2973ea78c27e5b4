"""A session's evaluation over REST: read it, or (re)compute it now."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from interviewer import evaluation
from interviews import selectors
from interviews.exceptions import NotFound

from . import serializers as s

ERRORS = {code: s.ErrorSerializer for code in (401, 403, 404)}


class EvaluatedQuestionSerializer(serializers.Serializer):
    question_id = serializers.IntegerField()
    question_text = serializers.CharField()
    score = serializers.IntegerField(min_value=1, max_value=5)
    rationale = serializers.CharField()
    seqs = serializers.ListField(
        child=serializers.IntegerField(), help_text="Transcript seqs the score rests on."
    )


class EvaluationSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["llm", "heuristic"],
        help_text="heuristic: rule-based (expected-answer coverage, length, filler words).",
    )
    model = serializers.CharField(help_text="The model's name, or heuristic-v1.")
    generated_at = serializers.DateTimeField()
    overall_score = serializers.FloatField(min_value=1, max_value=5)
    recommendation = serializers.ChoiceField(choices=list(evaluation.RECOMMENDATIONS))
    summary = serializers.CharField()
    strengths = serializers.ListField(child=serializers.CharField())
    concerns = serializers.ListField(child=serializers.CharField())
    questions = EvaluatedQuestionSerializer(many=True)


class SessionEvaluationView(APIView):
    @extend_schema(
        operation_id="sessions_evaluation_retrieve",
        responses={200: EvaluationSerializer, **ERRORS},
        description=(
            "The stored evaluation. Stored when the AI conversation closes: the heuristic "
            "one at once, replaced by the model's within moments when an LLM is configured "
            "(`kind` tells which). 404 with code `not_evaluated` before that."
        ),
    )
    def get(self, request, id: str):
        session = selectors.session_get(id)
        if not session.evaluation:
            raise NotFound(
                "This session has no evaluation yet; it is made when the interview ends "
                "(or POST to this URL).",
                code="not_evaluated",
            )
        return Response(session.evaluation)

    @extend_schema(
        operation_id="sessions_evaluation_create",
        request=None,
        responses={200: EvaluationSerializer, **ERRORS},
        description=(
            "Evaluate the transcript now (the model's evaluation when an LLM is configured, "
            "else the heuristic one), store it and return it."
        ),
    )
    def post(self, request, id: str):
        session = selectors.session_get(id)
        return Response(async_to_sync(evaluation.evaluate)(session.session_id))
