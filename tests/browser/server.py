"""A real interview-rt server for browser tests: daphne in a subprocess on a
free port, with its own SQLite file, driven through the public REST API."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
STAFF_USER = "observer"
STAFF_PASSWORD = "observer-pw-123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, workdir: Path, log_dir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / "server.log"
        self.proc: subprocess.Popen | None = None
        self.token = ""
        self.daphne_args: list[str] = []  # e.g. ["--access-log", path]
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("RT_", "OPENAI_"))},
            "DJANGO_SETTINGS_MODULE": "interview_rt.settings.test",
            "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
            "MEDIA_ROOT": str(workdir / "media"),
            "RT_PUBLIC_BASE_URL": self.base,
            "RT_DEFAULT_LANGUAGE": "ko",
            # One server serves the whole package's interviews, on a machine the
            # suite keeps busy: admission is not what these tests are about
            # (test_busy.py tests it on its own server). A finished test's
            # interview would otherwise hold its place, counted as speaking,
            # for RT_STT_ADMISSION_IDLE_S after its page closed, and the busy
            # machine's decoding cost would refuse the next tests' audio: no
            # measured headroom here (a target of 0), only a generous bound.
            "RT_STT_MAX_STREAMS": "64",
            "RT_STT_LATENCY_TARGET_MS": "0",
            "RT_STT_ADMISSION_IDLE_S": "5",
            "OPENAI_API_KEY": "",  # the scripted interviewer
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "REDIS_URL": "",
            "DEBUG": "true",
            "PYTHONUNBUFFERED": "1",
        }

    # --- process -------------------------------------------------------------

    def manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, "DJANGO_SUPERUSER_PASSWORD": STAFF_PASSWORD},
            check=True,
            capture_output=True,
        )

    def prepare(self) -> None:
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage(
            "createsuperuser",
            "--noinput",
            "--username",
            STAFF_USER,
            "--email",
            "observer@example.com",
        )

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it open
        self.proc = subprocess.Popen(
            [
                # The project's server command (daphne closing bad frames with a code).
                sys.executable,
                "-m",
                "interview_rt.serve",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                *self.daphne_args,
                "interview_rt.asgi:application",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daphne exited early; see {self.log_path}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"daphne did not answer within 30 s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None

    def kill(self) -> None:
        """An abrupt loss: every connection drops at once."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=5)
            self.proc = None

    # --- REST ------------------------------------------------------------------

    def login_token(self) -> str:
        if not self.token:
            r = httpx.post(
                f"{self.base}/api/auth/token/",
                json={"username": STAFF_USER, "password": STAFF_PASSWORD},
            )
            r.raise_for_status()
            self.token = r.json()["token"]
        return self.token

    def api(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {"Authorization": f"Token {self.login_token()}"}
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=30, **kwargs)

    def create_session(self, title: str, questions: list[str], duration_minutes: int = 20) -> dict:
        interviewer = self.api(
            "POST", "/api/interviewers/", json={"name": "Kim Interviewer", "email": "i@example.com"}
        ).json()
        student = self.api(
            "POST", "/api/students/", json={"name": "Lee Candidate", "email": "c@example.com"}
        ).json()
        r = self.api(
            "POST",
            "/api/sessions/",
            json={
                "interviewer_id": interviewer["id"],
                "student_id": student["id"],
                "title": title,
                "duration_minutes": duration_minutes,
            },
        )
        assert r.status_code == 201, r.text
        session = r.json()
        items = [
            {
                "session": session["id"],
                "question_text": text,
                "category": "General",
                "difficulty": "easy",
                "order": i + 1,
            }
            for i, text in enumerate(questions)
        ]
        r = self.api("POST", "/api/questions/bulk_create/", json={"questions": items})
        assert r.status_code in (200, 201), r.text
        return session

    def conversation(self, session_uuid: str) -> list[dict]:
        r = self.api("GET", f"/api/conversations/?session_id={session_uuid}&page_size=500")
        r.raise_for_status()
        body = r.json()
        rows = body["results"] if isinstance(body, dict) else body
        return sorted(rows, key=lambda row: row["seq"] or 0)

    def speech_facts(self, session_uuid: str) -> list[dict]:
        """Each student turn's stored speech facts (`Conversation.speech`), oldest first.

        Not in the REST API, so read from the server's SQLite file."""
        with sqlite3.connect(self.workdir / "db.sqlite3") as db:
            rows = db.execute(
                "SELECT c.speech FROM interviews_conversation c "
                "JOIN interviews_interviewsession s ON s.id = c.session_id "
                "WHERE s.session_id = ? AND c.speaker = 'student' ORDER BY c.seq",
                [session_uuid.replace("-", "")],
            ).fetchall()
        return [json.loads(row[0] or "{}") for row in rows]

    def last_seq(self, session_uuid: str) -> int:
        """The session's newest event seq, read from the server's SQLite file."""
        with sqlite3.connect(self.workdir / "db.sqlite3") as db:
            row = db.execute(
                "SELECT last_seq FROM interviews_interviewsession WHERE session_id = ?",
                [session_uuid.replace("-", "")],
            ).fetchone()
        return int(row[0])
