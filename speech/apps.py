from django.apps import AppConfig


class SpeechConfig(AppConfig):
    name = "speech"
    verbose_name = "Speech recognition"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from interviews.models import InterviewSession

        from . import receivers

        post_save.connect(
            receivers.release_place_of_ended_session,
            sender=InterviewSession,
            dispatch_uid="speech.receivers.release_place_of_ended_session",
        )
