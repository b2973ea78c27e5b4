import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("interviews", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="LiveConnection",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("channel_name", models.CharField(max_length=200, unique=True)),
                (
                    "role",
                    models.CharField(
                        choices=[("candidate", "Candidate"), ("observer", "Observer")],
                        max_length=10,
                    ),
                ),
                ("last_seen", models.DateTimeField(db_index=True)),
                (
                    "session",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="live_connections",
                        to="interviews.interviewsession",
                    ),
                ),
            ],
        ),
    ]
