"""REST transport: viewsets validate with serializers and call services."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django.conf import settings
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from interview_rt.logins import locked_out
from interviews import erasure, selectors, services
from interviews.exceptions import InUse, NotFound, PayloadTooLarge
from live import ai_turns
from live.frames import Turn
from reports import services as report_services
from speech.transcribe import transcribe_upload

from . import files
from . import serializers as s
from .throttles import UploadRateThrottle

SESSION_FILTER = OpenApiParameter(
    "session_id", str, description="Only rows of the session with this UUID."
)


ERRORS = {code: s.ErrorSerializer for code in (400, 401, 403, 404)}


TRANSITION_RESPONSES = {
    200: s.SessionSerializer,
    404: s.ErrorSerializer,
    409: OpenApiResponse(s.ErrorSerializer, description="Not allowed from the current status."),
}


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


class TokenView(APIView):
    """POST a staff user's username/password -> {"token": "..."}."""

    # A login: no session (so no CSRF check) and no token needed to ask for one.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    renderer_classes = [JSONRenderer]

    @extend_schema(
        request=s.TokenRequestSerializer,
        responses={
            200: s.TokenResponseSerializer,
            400: dict,
            403: s.ErrorSerializer,
            429: OpenApiResponse(s.ErrorSerializer, description="Too many wrong passwords."),
        },
    )
    def post(self, request):
        form = AuthTokenSerializer(data=request.data, context={"request": request})
        valid = form.is_valid()
        # django-axes flags the request it was handed (this DRF request, which its
        # middleware never sees) once the client is locked out.
        if getattr(request, "axes_locked_out", False):
            return locked_out(request)
        if not valid:
            raise ValidationError(form.errors)
        user = form.validated_data["user"]
        if not user.is_staff:
            raise PermissionDenied("The API is for staff users; this user is not staff.")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class SchemaView(SpectacularAPIView):
    permission_classes = [IsAdminUser]

    def perform_content_negotiation(self, request, force=False):
        # A browser (Accept: text/html) gets the YAML instead of a 406.
        return super().perform_content_negotiation(request, force=True)


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI with its start-up script served as a file (`?script`), not
    inline: the content security policy forbids inline scripts."""

    permission_classes = [IsAdminUser]


class InterviewerViewSet(viewsets.ModelViewSet):
    serializer_class = s.InterviewerSerializer
    queryset = selectors.interviewer_list()
    pagination_class = Pagination

    def perform_create(self, serializer):
        serializer.instance = services.create_interviewer(**serializer.validated_data)

    def perform_update(self, serializer):
        services.update_interviewer(
            interviewer=serializer.instance, changes=serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.delete_interviewer(interviewer=instance)


class StudentViewSet(viewsets.ModelViewSet):
    serializer_class = s.StudentSerializer
    queryset = selectors.student_list()
    pagination_class = Pagination

    def perform_create(self, serializer):
        serializer.instance = services.create_student(**serializer.validated_data)

    def perform_update(self, serializer):
        services.update_student(student=serializer.instance, changes=serializer.validated_data)

    @extend_schema(
        responses={
            204: None,
            404: s.ErrorSerializer,
            409: OpenApiResponse(
                s.ErrorSerializer,
                description="The student has interviews: erase their data with "
                "POST /api/students/{id}/erase/ instead.",
            ),
        }
    )
    def destroy(self, request, *args, **kwargs):
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance):
        try:
            services.delete_student(student=instance)
        except InUse as exc:
            count = instance.sessions.count()
            interviews = f"{count} interview session{'' if count == 1 else 's'}"
            if erasure.is_placeholder(instance):
                raise InUse(
                    f"Student {instance.pk} is the anonymous placeholder of erased data and "
                    f"keeps its {interviews}; it cannot be deleted."
                ) from exc
            raise InUse(
                f"Student {instance.pk} has {interviews}; erase their data with "
                f"POST /api/students/{instance.pk}/erase/ instead."
            ) from exc


class SessionViewSet(viewsets.ModelViewSet):
    """`{id}` is the integer id or the session's UUID."""

    serializer_class = s.SessionSerializer
    queryset = selectors.session_list()
    pagination_class = Pagination

    def get_object(self):
        session = selectors.session_get(self.kwargs["pk"])
        self.check_object_permissions(self.request, session)
        return session

    def perform_create(self, serializer):
        serializer.instance = services.create_session(**serializer.validated_data)

    def perform_update(self, serializer):
        services.update_session(
            session=serializer.instance, changes=serializer.validated_data, actor=self.request.user
        )

    def perform_destroy(self, instance):
        services.delete_session(session=instance)

    @extend_schema(request=None, responses=TRANSITION_RESPONSES)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        session = services.transition_session(
            session=self.get_object(), action="start", actor=request.user
        )
        return Response(self.get_serializer(session).data)

    @extend_schema(request=None, responses=TRANSITION_RESPONSES)
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        session = services.end_session(
            session=self.get_object(), reason="session ended", actor=request.user
        )
        return Response(self.get_serializer(session).data)

    @extend_schema(request=None, responses=TRANSITION_RESPONSES)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        session = services.transition_session(
            session=self.get_object(), action="cancel", actor=request.user
        )
        return Response(self.get_serializer(session).data)

    @extend_schema(
        request=None,
        responses={200: s.SessionSerializer, 404: s.ErrorSerializer},
        description="A new join link for the candidate (in `join_url`); the old one stops working.",
    )
    @action(detail=True, methods=["post"])
    def rotate_join_token(self, request, pk=None):
        session = services.rotate_join_token(session=self.get_object(), actor=request.user)
        return Response(self.get_serializer(session).data)


@extend_schema_view(list=extend_schema(parameters=[SESSION_FILTER]))
class QuestionViewSet(viewsets.ModelViewSet):
    serializer_class = s.QuestionSerializer
    pagination_class = Pagination

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
            raise services.bulk_item_error(index, serializer.errors)
        return serializer.validated_data


INCLUDE_RETRACTED = OpenApiParameter(
    "include_retracted",
    bool,
    description="Also list AI replies taken back (`retracted`: the candidate went on with "
    "the answer they replied to); `true` or `false` (default).",
)


@extend_schema_view(list=extend_schema(parameters=[SESSION_FILTER, INCLUDE_RETRACTED]))
class ConversationViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.ConversationSerializer
    pagination_class = Pagination
    throttle_classes = [UploadRateThrottle]  # POSTs only: uploads and voice_to_text

    def get_queryset(self):
        params = self.request.query_params
        return selectors.conversation_list(
            session_uuid=params.get("session_id"),
            # One row by id is shown whatever it is; lists leave replies taken back out.
            include_retracted=self.action != "list"
            or selectors.parse_flag(params.get("include_retracted"), field="include_retracted"),
        )

    def perform_create(self, serializer):
        serializer.instance = services.add_conversation(**serializer.validated_data)

    @extend_schema(
        request={"multipart/form-data": s.VoiceToTextSerializer},
        responses={
            200: s.VoiceToTextResponseSerializer,
            **ERRORS,
            413: s.ErrorSerializer,
            503: s.ErrorSerializer,
        },
    )
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def voice_to_text(self, request):
        refuse_oversized_body(request)  # before the body is read and stored
        form = s.VoiceToTextSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        sid = form.validated_data.get("session_id")
        if sid is not None:
            selectors.session_by_uuid(sid)  # an unknown session is a 404 before decoding
        result = transcribe_upload(form.validated_data["audio_file"], session_uuid=sid)
        return Response(result)


# Room for the multipart framing and the other fields around an upload at the limit.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def refuse_oversized_body(request) -> None:
    """413 from the declared length, so an oversized upload is not received first."""
    limit = settings.RT.upload_max_bytes
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return  # Django reads such a body as empty; the serializer reports it
    if declared > limit + MULTIPART_OVERHEAD_BYTES:
        raise PayloadTooLarge(
            f"The request is {declared} bytes; an upload may be at most {limit} bytes "
            "(RT_UPLOAD_MAX_BYTES)."
        )


class AiInterviewView(APIView):
    """initialize / respond / end; every effect is broadcast to the session's group."""

    @extend_schema(
        request=s.AiInterviewSerializer,
        responses={
            200: s.AiInterviewResponseSerializer,
            **ERRORS,
            409: OpenApiResponse(s.ErrorSerializer, description="Wrong step for the interview."),
        },
    )
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
            return await ai_turns.initialize(sid)
        if action_name == "respond":
            return await ai_turns.respond(sid, Turn(text=data["student_response"]))
        return await ai_turns.end(sid, "ended by API")


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
    pagination_class = Pagination

    @extend_schema(request=s.ReportGenerateSerializer, responses={201: s.ReportSerializer})
    @action(detail=False, methods=["post"])
    def generate(self, request):
        form = s.ReportGenerateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        session = selectors.session_by_uuid(form.validated_data["session_id"])
        report = report_services.generate_report(session=session, actor=request.user)
        return Response(self.get_serializer(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[files.RANGE_PARAMETER],
        responses={
            (200, "application/pdf"): bytes,
            (206, "application/pdf"): bytes,
            404: s.ErrorSerializer,
            416: OpenApiResponse(description="The range lies outside the file."),
        },
    )
    @action(detail=True, methods=["get"], **files.FILE_VIEW_OPTIONS)
    def download(self, request, pk=None):
        """The report's PDF: the only way to it (stored files have no public URL)."""
        report = self.get_object()
        if not report.pdf_file or not report.pdf_file.storage.exists(report.pdf_file.name):
            raise NotFound("The report's PDF file is missing; generate the report again.")
        return files.serve_private_file(
            request,
            report.pdf_file,
            content_type="application/pdf",
            download_name=report_services.file_name(report.session),
            as_attachment=True,
        )
