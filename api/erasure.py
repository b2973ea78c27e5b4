"""Erasing a candidate's data over REST (interviews/erasure.py does the work)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from interviews import erasure
from interviews.exceptions import NotFound
from interviews.models import Erasure, Student

from . import serializers as s


class ErasureSerializer(serializers.Serializer):
    erasure_id = serializers.IntegerField(source="pk")
    erased_at = serializers.DateTimeField()
    erased_by = serializers.CharField(
        source="erased_by_name", help_text="The staff user's username."
    )
    removed = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="What was removed or anonymised, by kind: conversations, audio_files, "
        "events, notes, suggestions, reports, report_files, evaluations, ...",
    )
    placeholder_student_id = serializers.IntegerField(
        source="placeholder_id",
        allow_null=True,
        help_text="The anonymous candidate the interviews now name.",
    )


def erasure_payload(record: Erasure) -> dict:
    return ErasureSerializer(record).data


class StudentErasureView(APIView):
    @extend_schema(
        operation_id="students_erase_create",
        request=None,
        responses={
            200: ErasureSerializer,
            **{code: s.ErrorSerializer for code in (401, 403, 404)},
            409: OpenApiResponse(
                s.ErrorSerializer,
                description="One of the candidate's interviews is in progress, or the "
                "candidate is an erasure's placeholder.",
            ),
        },
        description=(
            "Erase the candidate's data: personal fields, transcripts, recorded audio, "
            "events, observer notes and suggestions, reports (and their PDFs) and "
            "evaluations. Their interviews stay with title, dates, status and decisions, "
            "the name and email replaced, pointing at an anonymous placeholder candidate. "
            "A scheduled interview is cancelled. Cannot be undone."
        ),
    )
    def post(self, request, id: int):
        student = Student.objects.filter(pk=id).first()
        if student is None:
            raise NotFound(f"No student {id}.")
        record = erasure.erase_student(student=student, erased_by=request.user)
        return Response(erasure_payload(record))
