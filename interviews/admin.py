from django.contrib import admin, messages
from django.utils.html import format_html

from . import selectors, services
from .exceptions import DomainError
from .models import (
    AuditEntry,
    Conversation,
    Decision,
    Erasure,
    Interviewer,
    InterviewReport,
    InterviewSession,
    Question,
    SessionEvent,
    Student,
)


@admin.register(Interviewer)
class InterviewerAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "email", "user", "created_at"]
    search_fields = ["name", "email", "user__username"]
    list_filter = ["created_at"]


@admin.register(Student)
class StudentAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "email", "created_at"]
    search_fields = ["name", "email"]
    list_filter = ["created_at"]


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    fields = ["order", "question_text", "category", "difficulty", "expected_answer"]


# Stored files have no public URL (a FileField's own link would point at
# /media/, which nothing serves): link to the authenticated views instead.
def recording_link(conversation: Conversation) -> str:
    path = selectors.conversation_audio_path(conversation)
    return format_html('<a href="{}">Play</a>', path) if path else "-"


class ConversationInline(admin.TabularInline):
    model = Conversation
    extra = 0
    fields = ["seq", "speaker", "message", "question", "recording", "timestamp", "retracted"]
    readonly_fields = ["seq", "recording", "timestamp", "retracted"]

    @admin.display(description="Recording")
    def recording(self, conversation: Conversation) -> str:
        return recording_link(conversation)


@admin.register(InterviewSession)
class InterviewSessionAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "student", "interviewer", "status", "scheduled_at", "live_links"]
    list_filter = ["status", "language", "scheduled_at", "created_at"]
    search_fields = ["title", "student__name", "student__email", "interviewer__name", "session_id"]
    # The status changes only through the actions (as over REST), so each change
    # sets its timestamps and is broadcast as session.state.
    readonly_fields = [
        "session_id",
        "status",
        "started_at",
        "ended_at",
        "join_token",
        "last_seq",
        "created_at",
        "updated_at",
        "live_links",
    ]
    inlines = [QuestionInline, ConversationInline]
    date_hierarchy = "created_at"
    actions = ["start_sessions", "end_sessions", "cancel_sessions"]

    @admin.action(description="Start the selected sessions")
    def start_sessions(self, request, queryset):
        self._transition(
            request,
            queryset,
            "started",
            lambda s: services.transition_session(session=s, action="start"),
        )

    @admin.action(description="End the selected sessions (closing the AI conversation)")
    def end_sessions(self, request, queryset):
        self._transition(
            request,
            queryset,
            "ended",
            lambda s: services.end_session(session=s, reason="session ended"),
        )

    @admin.action(description="Cancel the selected sessions")
    def cancel_sessions(self, request, queryset):
        self._transition(
            request,
            queryset,
            "cancelled",
            lambda s: services.transition_session(session=s, action="cancel"),
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:  # as create_session does: the lobby sees the new session
            services.announce_session(session=obj)

    def _transition(self, request, queryset, done: str, change) -> None:
        changed = 0
        for session in queryset:
            try:
                change(session)
                changed += 1
            except DomainError as exc:
                self.message_user(request, f"{session.title}: {exc.message}", messages.ERROR)
        if changed:
            self.message_user(request, f"{changed} session(s) {done}.", messages.SUCCESS)

    @admin.display(description="Live")
    def live_links(self, obj):
        if not obj.pk:
            return "-"
        return format_html(
            '<a href="{}">live view</a> · <a href="{}">join link</a>',
            selectors.dashboard_url(obj),
            selectors.join_url(obj),
        )


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["id", "question_text", "category", "difficulty", "order", "session"]
    list_filter = ["difficulty", "category"]
    search_fields = ["question_text", "category", "expected_answer"]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["id", "session", "seq", "speaker", "message", "timestamp", "retracted"]
    list_filter = ["speaker", "retracted", "timestamp"]
    search_fields = ["message", "session__title", "session__session_id"]
    exclude = ["audio_file"]
    readonly_fields = ["recording", "retracted"]

    @admin.display(description="Recording")
    def recording(self, conversation: Conversation) -> str:
        return recording_link(conversation)


@admin.register(SessionEvent)
class SessionEventAdmin(admin.ModelAdmin):
    list_display = ["id", "session", "seq", "type", "audience", "created_at"]
    list_filter = ["type", "audience"]
    search_fields = ["session__session_id", "type"]


@admin.register(InterviewReport)
class InterviewReportAdmin(admin.ModelAdmin):
    list_display = ["id", "session", "pdf", "generated_at"]
    search_fields = ["session__title", "session__student__name"]
    list_filter = ["generated_at"]
    exclude = ["pdf_file"]
    readonly_fields = ["pdf"]

    def has_add_permission(self, request):
        return False  # a report is generated (REST or the dashboard), not uploaded

    @admin.display(description="PDF")
    def pdf(self, report: InterviewReport) -> str:
        return format_html('<a href="{}">Download</a>', selectors.report_download_path(report))


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin):
    list_display = ["id", "session", "outcome", "decided_by_name", "decided_at"]
    list_filter = ["outcome", "decided_at"]
    readonly_fields = ["decided_by", "decided_by_name", "decided_at"]


class _ReadOnlyAdmin(admin.ModelAdmin):
    """A record of what happened: viewable, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(_ReadOnlyAdmin):
    list_display = ["at", "session", "action", "actor_name"]
    list_filter = ["action", "at"]


@admin.register(Erasure)
class ErasureAdmin(_ReadOnlyAdmin):
    list_display = ["id", "erased_at", "erased_by_name", "placeholder"]
