"""Recorded answers and reports get unguessable storage names.

Files stored before this migration were named after the upload or the
candidate (``reports/2026/12/interview-lee-candidate-2026-12-02.pdf``). Each
one is copied to ``<folder>/<yyyy>/<mm>/<24 random characters>.<ext>``, its
row is pointed at the copy, and the old file is deleted once the change is
committed. A file already renamed is left alone (running it again changes
nothing); a row whose file is missing is left as it is and logged.
"""

import logging
import re
import secrets
from pathlib import PurePosixPath

from django.core.files.storage import default_storage
from django.db import migrations, models, transaction
from django.utils import timezone

import interviews.models

log = logging.getLogger("interviews.migrations")

# Frozen copies of interviews.models' naming rule as of this migration.
PRIVATE_NAME = re.compile(r"^(audio|reports)/\d{4}/\d{2}/[A-Za-z0-9_-]{24}(\.[a-z0-9]{1,5})?$")
DATED = re.compile(r"^[^/]+/(\d{4})/(\d{2})/")
EXTENSION = re.compile(r"^\.[a-z0-9]{1,5}$")


def new_name(old: str, folder: str, default_extension: str, moment) -> str:
    extension = PurePosixPath(old).suffix.lower()
    if not EXTENSION.match(extension):
        extension = default_extension
    dated = DATED.match(old)
    year, month = dated.groups() if dated else (f"{moment:%Y}", f"{moment:%m}")
    return f"{folder}/{year}/{month}/{secrets.token_urlsafe(18)}{extension}"


def rename_files(model, field: str, folder: str, default_extension: str, moment_field: str):
    renamed: dict[str, str] = {}  # old name -> new, should two rows share a file
    for row in model.objects.exclude(**{field: ""}).exclude(**{f"{field}__isnull": True}):
        old = getattr(row, field).name
        if PRIVATE_NAME.match(old):
            continue
        if old not in renamed:
            if not default_storage.exists(old):
                log.warning(
                    "%s %s: its stored file is missing; the row is left as it is.",
                    model.__name__,
                    row.pk,
                )
                continue
            moment = getattr(row, moment_field) or timezone.now()
            with default_storage.open(old, "rb") as content:
                renamed[old] = default_storage.save(
                    new_name(old, folder, default_extension, moment), content
                )
            # After the commit: a migration rolled back keeps the old files.
            transaction.on_commit(lambda name=old: default_storage.delete(name))
        # update(), not save(): InterviewReport.generated_at is auto_now.
        model.objects.filter(pk=row.pk).update(**{field: renamed[old]})


def forwards(apps, schema_editor):
    rename_files(apps.get_model("interviews", "Conversation"), "audio_file", "audio", ".wav", "timestamp")
    rename_files(
        apps.get_model("interviews", "InterviewReport"), "pdf_file", "reports", ".pdf", "generated_at"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("interviews", "0003_decisions_audit_erasure"),
    ]

    operations = [
        migrations.AlterField(
            model_name="conversation",
            name="audio_file",
            field=models.FileField(
                blank=True, null=True, upload_to=interviews.models.audio_upload_to
            ),
        ),
        migrations.AlterField(
            model_name="interviewreport",
            name="pdf_file",
            field=models.FileField(upload_to=interviews.models.report_upload_to),
        ),
        # Backwards the new names stay: they are valid names under any upload_to.
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
