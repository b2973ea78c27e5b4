from django.contrib import admin
from django.utils.html import format_html

from . import selectors
from .models import (
    Conversation,
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


class ConversationInline(admin.TabularInline):
    model = Conversation
    extra = 0
    fields = ["seq", "speaker", "message", "question", "audio_file", "timestamp"]
    readonly_fields = ["seq", "timestamp"]


@admin.register(InterviewSession)
class InterviewSessionAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "student", "interviewer", "status", "scheduled_at", "live_links"]
    list_filter = ["status", "language", "scheduled_at", "created_at"]
    search_fields = ["title", "student__name", "student__email", "interviewer__name", "session_id"]
    readonly_fields = [
        "session_id",
        "join_token",
        "last_seq",
        "created_at",
        "updated_at",
        "live_links",
    ]
    inlines = [QuestionInline, ConversationInline]
    date_hierarchy = "created_at"

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
    list_display = ["id", "session", "seq", "speaker", "message", "timestamp"]
    list_filter = ["speaker", "timestamp"]
    search_fields = ["message", "session__title", "session__session_id"]


@admin.register(SessionEvent)
class SessionEventAdmin(admin.ModelAdmin):
    list_display = ["id", "session", "seq", "type", "audience", "created_at"]
    list_filter = ["type", "audience"]
    search_fields = ["session__session_id", "type"]


@admin.register(InterviewReport)
class InterviewReportAdmin(admin.ModelAdmin):
    list_display = ["id", "session", "pdf_file", "generated_at"]
    search_fields = ["session__title", "session__student__name"]
    list_filter = ["generated_at"]
