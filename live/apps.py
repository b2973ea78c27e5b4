from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "live"
    # The app was called "pipeline": the label keeps its migration history and table.
    label = "pipeline"
    verbose_name = "Live sessions"

    def ready(self) -> None:
        from interviews.models import InterviewSession
        from interviews.signals import session_ending

        from . import receivers

        session_ending.connect(
            receivers.close_ai_conversation,
            sender=InterviewSession,
            dispatch_uid="live.receivers.close_ai_conversation",
        )
