"""A session's hiring decision over REST: the current one with its history, or
record a new one (the newest is the current decision; earlier ones stay)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from interviews import selectors, services
from interviews.exceptions import NotFound
from interviews.models import Decision

from . import serializers as s

ERRORS = {code: s.ErrorSerializer for code in (401, 403, 404)}


class DecisionRequestSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Decision.Outcome.choices)
    rationale = serializers.CharField(
        trim_whitespace=True, help_text="Why: required, shown with the decision."
    )


class CurrentDecisionSerializer(s.DecisionSerializer):
    history = s.DecisionSerializer(
        many=True, read_only=True, help_text="Earlier decisions, newest first."
    )

    class Meta(s.DecisionSerializer.Meta):
        fields = [*s.DecisionSerializer.Meta.fields, "history"]
        read_only_fields = fields


class SessionDecisionView(APIView):
    """`{id}` is the session's integer id or its UUID."""

    @extend_schema(
        operation_id="sessions_decision_retrieve",
        responses={200: CurrentDecisionSerializer, **ERRORS},
        description=(
            "The current hiring decision (the newest) and, in `history`, the earlier "
            "ones. 404 with code `no_decision` while none has been recorded."
        ),
    )
    def get(self, request, id: str):
        session = selectors.session_get(id)
        decisions = selectors.decision_history(session)
        if not decisions:
            raise NotFound(
                "No decision has been recorded for this interview yet.", code="no_decision"
            )
        body = s.DecisionSerializer(decisions[0]).data
        body["history"] = s.DecisionSerializer(decisions[1:], many=True).data
        return Response(body)

    @extend_schema(
        operation_id="sessions_decision_create",
        request=DecisionRequestSerializer,
        responses={
            201: s.DecisionSerializer,
            400: OpenApiResponse(description="A field error naming `outcome` or `rationale`."),
            **ERRORS,
            409: OpenApiResponse(s.ErrorSerializer, description="The interview has not ended yet."),
        },
        description=(
            "Record a decision: advance, hold or reject, with a rationale, by the "
            "requesting user. Only for an ended interview (completed or cancelled). "
            "It becomes the current decision; the previous one moves to the history."
        ),
    )
    def post(self, request, id: str):
        session = selectors.session_get(id)
        form = DecisionRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        decision = services.record_decision(
            session=session,
            outcome=form.validated_data["outcome"],
            rationale=form.validated_data["rationale"],
            decided_by=request.user,
        )
        return Response(s.DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)
