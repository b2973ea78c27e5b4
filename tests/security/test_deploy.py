"""The production settings pass `manage.py check --deploy`; the shipped nginx
config is valid and keeps tokens out of its log."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import string
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "deploy" / "nginx.conf"


def production_env(**extra: str) -> dict[str, str]:
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("RT_", "SECURE_"))},
        "SECRET_KEY": "".join(secrets.choice(alphabet) for _ in range(50)),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "interviews.example.com",
        "DJANGO_SETTINGS_MODULE": "interview_rt.settings.production",
        **extra,
    }


def check_deploy(**extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(**extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_has_no_warnings():
    result = check_deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_each_silenced_check_is_explained_in_the_deploy_docs():
    docs = (ROOT / "docs" / "deploy.md").read_text()
    for check in ("security.W005", "security.W008", "security.W021"):
        assert check in docs, f"{check} is silenced without a reason in docs/deploy.md"


def test_turning_the_options_on_needs_no_silencing():
    result = check_deploy(
        SECURE_SSL_REDIRECT="true",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        SECURE_HSTS_PRELOAD="true",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(0 silenced)" in result.stdout


def test_hsts_is_sent_on_https_behind_the_proxy():
    script = (
        "from django.test import Client;"
        "r=Client().get('/healthz', HTTP_HOST='interviews.example.com',"
        " HTTP_X_FORWARDED_PROTO='https');"
        "print(r.status_code, r.headers.get('Strict-Transport-Security'));"
        "r=Client().get('/healthz', HTTP_HOST='interviews.example.com');"
        "print(r.status_code, r.headers.get('Strict-Transport-Security'))"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=production_env(DATABASE_URL="sqlite:///:memory:"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = result.stdout.strip().splitlines()
    assert lines[-2].endswith("max-age=31536000"), result.stdout + result.stderr
    assert lines[-1].endswith("None"), "no HSTS over plain HTTP"


# --- nginx -------------------------------------------------------------------------


def test_nginx_log_format_leaves_out_query_strings_and_referers():
    conf = NGINX_CONF.read_text()
    formats = re.findall(r"log_format\s+(\w+)\s+([^;]+);", conf)
    assert formats, "the config names its own log format"
    used = re.findall(r"access_log\s+\S+\s+(\w+)\s*;", conf)
    assert used and set(used) <= {name for name, _ in formats}
    for _, body in formats:
        for leaky in ("$request ", '$request"', "$request_uri", "$args", "$query_string"):
            assert leaky not in body, f"{leaky} writes the query string (tokens) to the log"
        assert "$http_referer" not in body, "a join page's requests carry its URL as Referer"


def test_nginx_forwards_websockets_and_matches_the_upload_limit():
    conf = NGINX_CONF.read_text()
    ws = conf[conf.index("location /ws/") :]
    ws = ws[: ws.index("}")]
    assert "proxy_set_header Upgrade $http_upgrade" in ws
    assert "proxy_set_header Connection $connection_upgrade" in ws
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in ws
    assert re.search(r"proxy_read_timeout\s+(\d+h|\d{4,}s?)", ws), "long read timeouts"
    size = re.search(r"client_max_body_size\s+(\d+)m;", conf)
    limit_mib = settings.RT.upload_max_bytes / (1024 * 1024)
    assert size and limit_mib <= int(size.group(1)) <= limit_mib + 2
    private = conf[conf.index("location /private-files/") :]
    assert "internal;" in private[: private.index("}")]


def test_nginx_accepts_the_shipped_config(tmp_path):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not nginx:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    # The compose service names resolve only inside compose: local ports here.
    conf = NGINX_CONF.read_text().replace("server web:8000;", "server 127.0.0.1:8000;")
    conf = conf.replace("server web2:8000;", "server 127.0.0.1:8001;")
    (tmp_path / "logs").mkdir()
    (tmp_path / "nginx.conf").write_text(conf)
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
