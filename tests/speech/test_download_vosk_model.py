"""manage.py download_vosk_model against a local HTTP server serving zips
made here: success, checksum and size mismatches, truncation, 404, unsafe zips."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from speech.management.commands.download_vosk_model import language_of
from speech.model_registry import registry

NAME = "vosk-model-small-xx-0.1"


def model_zip(top: str = NAME, *, model: bool = True, extra: dict[str, bytes] | None = None):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        if model:
            bundle.writestr(f"{top}/am/final.mdl", b"acoustic model bytes" * 100)
            bundle.writestr(f"{top}/conf/model.conf", b"--min-active=200\n")
            bundle.writestr(f"{top}/graph/phones/word_boundary.int", b"1 nonword\n")
        else:
            bundle.writestr(f"{top}/README", b"no model here")
        for name, data in (extra or {}).items():
            bundle.writestr(name, data)
    return buffer.getvalue()


class ModelServer:
    """Serves `files` by path; `truncate` paths announce more bytes than they send."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.truncate: set[str] = set()
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path in server.truncate:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/models"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def server():
    running = ModelServer()
    yield running
    running.close()


@pytest.fixture
def models_dir(tmp_path):
    folder = tmp_path / "models"
    with override_settings(RT=replace(settings.RT, vosk_models_dir=str(folder))):
        yield folder


def download(server, *args, **options):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "download_vosk_model",
        *args,
        base_url=server.url,
        no_progress=True,
        stdout=out,
        stderr=err,
        **options,
    )
    return out.getvalue(), err.getvalue()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_with_sha256_unpacks_where_the_registry_finds_it(server, models_dir):
    body = model_zip()
    server.files[f"/models/{NAME}.zip"] = body
    out, _ = download(server, NAME, sha256=hashlib.sha256(body).hexdigest())
    target = models_dir / f"xx-{NAME}"
    assert (target / "am" / "final.mdl").read_bytes() == b"acoustic model bytes" * 100
    assert leftovers(models_dir) == [f"xx-{NAME}"]  # no temp files or folders
    assert hashlib.sha256(body).hexdigest() in out
    assert registry.locate("xx") == target.resolve()
    assert server.requests == [f"/models/{NAME}.zip"]  # no listing needed


def test_download_verified_by_the_published_listing(server, models_dir):
    body = model_zip()
    server.files[f"/models/{NAME}.zip"] = body
    listing = [{"name": NAME, "md5": hashlib.md5(body).hexdigest(), "size": len(body)}]
    server.files["/models/model-list.json"] = json.dumps(listing).encode()
    download(server, NAME)
    assert registry.available("xx")


def test_checksum_mismatch_installs_nothing(server, models_dir):
    server.files[f"/models/{NAME}.zip"] = model_zip()
    with pytest.raises(CommandError, match="Checksum mismatch.*SHA-256"):
        download(server, NAME, sha256="0" * 64)
    assert leftovers(models_dir) == []
    assert not registry.available("xx")


def test_listing_md5_mismatch_installs_nothing(server, models_dir):
    body = model_zip()
    server.files[f"/models/{NAME}.zip"] = body
    listing = [{"name": NAME, "md5": "0" * 32, "size": len(body)}]
    server.files["/models/model-list.json"] = json.dumps(listing).encode()
    with pytest.raises(CommandError, match="Checksum mismatch.*MD5"):
        download(server, NAME)
    assert leftovers(models_dir) == []


def test_listing_size_mismatch_installs_nothing(server, models_dir):
    body = model_zip()
    server.files[f"/models/{NAME}.zip"] = body
    listing = [{"name": NAME, "md5": hashlib.md5(body).hexdigest(), "size": len(body) + 1}]
    server.files["/models/model-list.json"] = json.dumps(listing).encode()
    with pytest.raises(CommandError, match="Size mismatch"):
        download(server, NAME)
    assert leftovers(models_dir) == []


def test_truncated_download_is_reported_and_leaves_nothing(server, models_dir):
    body = model_zip(extra={"padding.bin": bytes(range(256)) * 400})
    server.files[f"/models/{NAME}.zip"] = body
    server.truncate.add(f"/models/{NAME}.zip")
    with pytest.raises(CommandError, match="truncated|failed after") as caught:
        download(server, NAME, sha256=hashlib.sha256(body).hexdigest())
    assert "Try again" in str(caught.value)
    assert leftovers(models_dir) == []


def test_unknown_model_is_a_clear_404(server, models_dir):
    with pytest.raises(CommandError, match=r"does not exist \(404\)"):
        download(server, "vosk-model-small-zz-9.9", sha256="a" * 64)
    assert leftovers(models_dir) == []


def test_without_any_checksum_it_refuses_unless_told(server, models_dir):
    server.files[f"/models/{NAME}.zip"] = model_zip()
    with pytest.raises(CommandError, match="Cannot verify"):
        download(server, NAME)
    assert leftovers(models_dir) == []
    _, err = download(server, NAME, no_verify=True)
    assert "not verified" in err
    assert registry.available("xx")


def test_existing_model_needs_force_and_is_replaced_whole(server, models_dir):
    first, second = model_zip(), model_zip(extra={f"{NAME}/NEW": b"v2"})
    server.files[f"/models/{NAME}.zip"] = first
    download(server, NAME, sha256=hashlib.sha256(first).hexdigest())
    server.files[f"/models/{NAME}.zip"] = second
    with pytest.raises(CommandError, match="already exists"):
        download(server, NAME, sha256=hashlib.sha256(second).hexdigest())
    download(server, NAME, sha256=hashlib.sha256(second).hexdigest(), force=True)
    assert (models_dir / f"xx-{NAME}" / "NEW").read_bytes() == b"v2"
    assert leftovers(models_dir) == [f"xx-{NAME}"]


def test_a_zip_without_a_model_is_refused(server, models_dir):
    body = model_zip(model=False)
    server.files[f"/models/{NAME}.zip"] = body
    with pytest.raises(CommandError, match="does not hold a Vosk model"):
        download(server, NAME, sha256=hashlib.sha256(body).hexdigest())
    assert leftovers(models_dir) == []


def test_a_zip_with_unsafe_paths_is_refused(server, models_dir):
    body = model_zip(extra={"../escape.txt": b"x"})
    server.files[f"/models/{NAME}.zip"] = body
    with pytest.raises(CommandError, match="unsafe path"):
        download(server, NAME, sha256=hashlib.sha256(body).hexdigest())
    assert leftovers(models_dir) == []
    assert not (models_dir.parent / "escape.txt").exists()


def test_not_a_zip_is_refused(server, models_dir):
    body = b"<html>maintenance</html>"
    server.files[f"/models/{NAME}.zip"] = body
    with pytest.raises(CommandError, match="not a zip"):
        download(server, NAME, sha256=hashlib.sha256(body).hexdigest())
    assert leftovers(models_dir) == []


def test_language_comes_from_the_name_or_the_option(server, models_dir):
    assert language_of("vosk-model-small-en-us-0.15") == "en"
    assert language_of("vosk-model-en-us-0.22-lgraph") == "en"
    assert language_of("vosk-model-small-ko-0.22") == "ko"
    assert language_of("vosk-model-small-cn-0.22") == "zh"
    assert language_of("my-model") is None
    body = model_zip(top="my-model")
    server.files["/models/my-model.zip"] = body
    with pytest.raises(CommandError, match="--language"):
        download(server, "my-model", sha256=hashlib.sha256(body).hexdigest())
    download(server, "my-model", sha256=hashlib.sha256(body).hexdigest(), language="fi")
    assert registry.locate("fi") == (models_dir / "fi-my-model").resolve()


def test_progress_bar_shows_on_stderr(server, models_dir, capsys):
    body = model_zip()
    server.files[f"/models/{NAME}.zip"] = body
    call_command(
        "download_vosk_model",
        NAME,
        base_url=server.url,
        sha256=hashlib.sha256(body).hexdigest(),
        stdout=io.StringIO(),
    )
    assert f"{NAME}.zip" in capsys.readouterr().err  # tqdm's bar, labelled with the file
