from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "live"
    # The app was called "pipeline": the label keeps its migration history and table.
    label = "pipeline"
    verbose_name = "Live sessions"
