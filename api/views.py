"""REST transport: viewsets validate with serializers and call services."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from interviews import selectors, services
from interviews.exceptions import InvalidInput
from pipeline import interview, stt
from pipeline.frames import Turn
from reports import services as report_services

from . import serializers as s

SESSION_FILTER = OpenApiParameter(
    "session_id", str, description="Only rows of the session with this UUID."
)


class TokenView(ObtainAuthToken):
    """POST username/password -> {"token": "..."} (any user; the API itself needs staff)."""

    permission_classes = [AllowAny]

    @extend_schema(request=s.TokenRequestSerializer, responses={200: dict})
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class InterviewerViewSet(viewsets.ModelViewSet):
    serializer_class = s.InterviewerSerializer
    queryset = selectors.interviewer_list()

    def perform_create(self, serializer):
        serializer.instance = services.create_interviewer(**serializer.validated_data)

    def perform_update(self, serializer):
        services.update_interviewer(
            interviewer=serializer.instance, changes=serializer.validated_data
        )


class StudentViewSet(viewsets.ModelViewSet):
    serializer_class = s.StudentSerializer
    queryset = selectors.student_list()

    def perform_create(self, serializer):
        serializer.instance = services.create_student(**serializer.validated_data)

    def perform_update(self, serializer):
        services.update_student(student=serializer.instance, changes=serializer.validated_data)


class SessionViewSet(viewsets.ModelViewSet):
    serializer_class = s.SessionSerializer
    queryset = selectors.session_list()
    lookup_value_regex = r"[0-9]+|[0-9a-fA-F-]{32,36}"

    def get_object(self):
        session = selectors.session_get(self.kwargs["pk"])
        self.check_object_permissions(self.request, session)
        return session

    def perform_create(self, serializer):
        serializer.instance = services.create_session(**serializer.validated_data)

    def perform_update(self, serializer):
        services.update_session(session=serializer.instance, changes=serializer.validated_data)

    @extend_schema(request=None, responses=s.SessionSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        session = services.transition_session(session=self.get_object(), action="start")
        return Response(self.get_serializer(session).data)

    @extend_schema(request=None, responses=s.SessionSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        session = async_to_sync(interview.finish)(self.get_object().session_id, "session ended")
        return Response(self.get_serializer(session).data)

    @extend_schema(request=None, responses=s.SessionSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        session = services.transition_session(session=self.get_object(), action="cancel")
        return Response(self.get_serializer(session).data)


@extend_schema(parameters=[SESSION_FILTER])
class QuestionViewSet(viewsets.ModelViewSet):
    serializer_class = s.QuestionSerializer

    def get_queryset(self):
        return selectors.question_list(session_uuid=self.request.query_params.get("session_id"))

    def perform_create(self, serializer):
        serializer.instance = services.create_question(**serializer.validated_data)

    def perform_update(self, serializer):
        services.update_question(question=serializer.instance, changes=serializer.validated_data)

    @extend_schema(
        request=s.QuestionBulkSerializer, responses={201: s.QuestionSerializer(many=True)}
    )
    @action(detail=False, methods=["post"])
    def bulk_create(self, request):
        envelope = s.QuestionBulkSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        items = [
            self._validated_item(i, item)
            for i, item in enumerate(envelope.validated_data["questions"])
        ]
        created = services.bulk_create_questions(items=items)
        return Response(
            self.get_serializer(created, many=True).data, status=status.HTTP_201_CREATED
        )

    def _validated_item(self, index: int, item: dict) -> dict:
        serializer = self.get_serializer(data=item)
        if not serializer.is_valid():
            raise InvalidInput(f"questions[{index}] is invalid: {_flatten(serializer.errors)}")
        return serializer.validated_data


def _flatten(errors: dict) -> str:
    return "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in errors.items())


@extend_schema(parameters=[SESSION_FILTER])
class ConversationViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.ConversationSerializer

    def get_queryset(self):
        return selectors.conversation_list(session_uuid=self.request.query_params.get("session_id"))

    def perform_create(self, serializer):
        serializer.instance = services.add_conversation(**serializer.validated_data)

    @extend_schema(
        request={"multipart/form-data": s.VoiceToTextSerializer},
        responses={200: dict, 400: dict, 413: dict, 503: dict},
    )
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def voice_to_text(self, request):
        form = s.VoiceToTextSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        result = stt.transcribe_upload(
            form.validated_data["audio_file"], session_uuid=form.validated_data.get("session_id")
        )
        return Response(result)


class AiInterviewView(APIView):
    """initialize / respond / end; every effect is broadcast to the session's group."""

    @extend_schema(request=s.AiInterviewSerializer, responses=s.AiInterviewResponseSerializer)
    def post(self, request):
        form = s.AiInterviewSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        action_name, sid = form.validated_data["action"], form.validated_data["session_id"]
        selectors.session_by_uuid(sid)  # 404 before anything else
        result = async_to_sync(self._run)(action_name, sid, form.validated_data)
        return Response(_ai_payload(action_name, sid, result))

    @staticmethod
    async def _run(action_name, sid, data):
        if action_name == "initialize":
            return await interview.initialize(sid)
        if action_name == "respond":
            return await interview.respond(sid, Turn(text=data["student_response"]))
        return await interview.end(sid, "ended by API")


def _ai_payload(action_name, sid, result) -> dict:
    return {
        "action": action_name,
        "session_id": str(sid),
        "message": result.text if result else None,
        "conversation_id": result.conversation.pk if result and result.conversation else None,
        "question_id": result.question_id if result else None,
        "interview_closed": result.closed if result else True,
    }


class ReportViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.ReportSerializer
    queryset = selectors.report_list()

    @extend_schema(request=s.ReportGenerateSerializer, responses={201: s.ReportSerializer})
    @action(detail=False, methods=["post"])
    def generate(self, request):
        form = s.ReportGenerateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        session = selectors.session_by_uuid(form.validated_data["session_id"])
        report = report_services.generate_report(session=session)
        return Response(self.get_serializer(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "application/pdf"): bytes})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        report = self.get_object()
        return FileResponse(
            report.pdf_file.open("rb"),
            as_attachment=True,
            filename=report_services.file_name(report.session),
            content_type="application/pdf",
        )
