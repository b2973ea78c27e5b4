"""The runtime settings: read from the environment, documented, checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

from interview_rt.settings.runtime import ConfigError, RuntimeSettings
from interviews.management.commands.show_settings import markdown_table

DOC = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def test_docs_list_every_setting_with_its_default():
    text = DOC.read_text()
    table = text.split("<!-- settings-table:start -->\n")[1].split("<!-- settings-table:end -->")[0]
    assert table == markdown_table(), "docs/configuration.md is stale: regenerate the table"


def test_environment_values_are_parsed_by_type():
    rt = RuntimeSettings.from_env(
        {
            "RT_TURN_SILENCE_S": "2.5",
            "RT_STT_THREADS": "4",
            "RT_SAVE_TURN_AUDIO": "off",
            "OPENAI_MODEL": "llama3",
            "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        }
    )
    assert (rt.turn_silence_s, rt.stt_threads, rt.save_turn_audio) == (2.5, 4, False)
    assert (rt.openai_model, rt.openai_base_url) == ("llama3", "http://127.0.0.1:9/v1")
    assert RuntimeSettings.from_env({}) == RuntimeSettings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RT_STT_THREADS", "two"),
        ("RT_SAVE_TURN_AUDIO", "maybe"),
        ("RT_TURN_RULE", "smart"),
        ("RT_STT_RECYCLE_JITTER", "1.5"),
        ("RT_STT_RECYCLE_JITTER", "-0.1"),
        ("RT_ALLOCATOR", "tcmalloc"),
    ],
)
def test_a_bad_value_names_its_variable(name, value):
    with pytest.raises(ConfigError, match=name[3:].lower()):
        RuntimeSettings.from_env({name: value})


def test_show_settings_hides_the_api_key(settings, capsys):
    from dataclasses import replace

    settings.RT = replace(settings.RT, openai_api_key="sk-secret")
    call_command("show_settings")
    out = capsys.readouterr().out
    assert "OPENAI_API_KEY=(set)" in out and "sk-secret" not in out


def test_production_refuses_to_start_without_a_secret_key_or_with_debug():
    import subprocess
    import sys

    base = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "interview_rt.settings.production"}
    code = "import django; django.setup()"
    root = DOC.parent.parent
    no_key = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, "DEBUG": "false"},
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert no_key.returncode != 0 and "SECRET_KEY must be set" in no_key.stderr
    debug = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, "SECRET_KEY": "x" * 50, "DEBUG": "true"},
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert debug.returncode != 0 and "DEBUG must be off" in debug.stderr
    ok = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, "SECRET_KEY": "x" * 50, "DEBUG": "false"},
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr


@pytest.mark.django_db  # lifts pytest-django's block on opening connections
def test_the_embedded_sqlite_database_runs_in_wal_mode_with_full_sync(tmp_path, settings):
    """Readers do not wait for a writer; a commit is still synced to disk."""
    from django.db.backends.sqlite3.base import DatabaseWrapper

    default = settings.DATABASES["default"]
    if default["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("this run's database is not SQLite (the SQLite run covers it)")
    wrapper = DatabaseWrapper({**default, "NAME": str(tmp_path / "db.sqlite3")})
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
            cursor.execute("PRAGMA synchronous")
            assert cursor.fetchone()[0] == 2  # FULL
    finally:
        wrapper.close()
