"""Print every runtime setting (env var, default, current value, meaning).

`--markdown` prints the table in docs/configuration.md; a test keeps that file
in step with interview_rt/settings/runtime.py.
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from interview_rt.settings.runtime import RuntimeSettings

SECRET_FIELDS = {"openai_api_key"}


def markdown_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for env, _name, default, doc in RuntimeSettings.documentation():
        shown = f"`{default}`" if default != "" else "(empty)"
        rows.append(f"| `{env}` | {shown} | {doc} |")
    return "\n".join(rows) + "\n"


class Command(BaseCommand):
    help = "Show the runtime settings and their current values."

    def add_arguments(self, parser):
        parser.add_argument("--markdown", action="store_true", help="print the docs table")

    def handle(self, *args, markdown: bool, **options):
        if markdown:
            self.stdout.write(markdown_table(), ending="")
            return
        for env, name, default, _doc in RuntimeSettings.documentation():
            value = getattr(settings.RT, name)
            if name in SECRET_FIELDS and value:
                value = "(set)"
            marker = "" if value == default else "  (changed)"
            self.stdout.write(f"{env}={value}{marker}")
