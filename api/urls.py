from django.urls import include, path, re_path
from rest_framework.routers import DefaultRouter

from . import bank, decisions, erasure, evaluation, files, views
from .errors import api_not_found

router = DefaultRouter()
router.register("interviewers", views.InterviewerViewSet, basename="interviewer")
router.register("students", views.StudentViewSet, basename="student")
router.register("sessions", views.SessionViewSet, basename="session")
router.register("questions", views.QuestionViewSet, basename="question")
router.register("conversations", views.ConversationViewSet, basename="conversation")
router.register("reports", views.ReportViewSet, basename="report")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("ai-interview/", views.AiInterviewView.as_view(), name="ai-interview"),
    path("schema/", views.SchemaView.as_view(), name="schema"),
    path("docs/", views.DocsView.as_view(url_name="schema"), name="api-docs"),
    # Interviewer: question bank and evaluation (docs/interviewer.md); before the router.
    path("questions/bank/", bank.BankQuestionListView.as_view(), name="question-bank"),
    path("questions/generate/", bank.GenerateQuestionsView.as_view(), name="question-generate"),
    path(
        "sessions/<str:id>/questions/from_bank/",
        bank.SessionQuestionsFromBankView.as_view(),
        name="session-questions-from-bank",
    ),
    path(
        "sessions/<str:id>/evaluation/",
        evaluation.SessionEvaluationView.as_view(),
        name="session-evaluation",
    ),
    path(
        "sessions/<str:id>/decision/",
        decisions.SessionDecisionView.as_view(),
        name="session-decision",
    ),
    path("students/<int:id>/erase/", erasure.StudentErasureView.as_view(), name="student-erase"),
    path(
        "conversations/<int:pk>/audio/",
        files.ConversationAudioView.as_view(),
        name="conversation-audio",
    ),
    path("", include(router.urls)),
    # Last: whatever no route above matches is a JSON 404, not Django's HTML page.
    re_path(r"^(?P<unmatched>.*)$", api_not_found),
]
