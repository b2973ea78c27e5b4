# Shared by bin/serve and bin/test: system packages, .venv, Python packages.
# Sourced, not run. Re-running is cheap: each step is skipped when already done.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# ensure_apt PKG...: install the missing Debian/Ubuntu packages (as root or via
# sudo), or stop with a message naming them.
ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; else
      echo "Missing system packages: ${missing[*]}" >&2
      echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "Missing system packages: ${missing[*]} (no apt-get here: install them with your package manager)" >&2
    exit 1
  fi
  say "Installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_venv REQUIREMENTS_FILE: .venv with the pinned packages (re-installed
# only when the requirements change).
ensure_venv() {
  local req="$ROOT/$1"
  if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Python 3.11 or newer is needed (python3 is $(python3 --version 2>&1))." >&2
    exit 1
  fi
  if [ ! -x "$PY" ]; then
    say "Creating .venv"
    python3 -m venv "$VENV" 2>/dev/null || { ensure_apt python3-venv; rm -rf "$VENV"; python3 -m venv "$VENV"; }
  fi
  local stamp="$VENV/.installed-$(basename "$req")"
  local digest
  digest="$(cat "$ROOT/requirements.txt" "$req" | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
    say "Installing Python packages from $(basename "$req")"
    "$PY" -m pip install -q --upgrade pip >/dev/null
    "$PY" -m pip install -q -r "$req"
    echo "$digest" >"$stamp"
  fi
}

# ensure_turn_models: the turn-taking models (Silero VAD, Smart Turn v3.2),
# taken from their pinned wheels (pip download --no-deps) and checksummed;
# a no-op when they are installed and pass their checksums.
ensure_turn_models() {
  "$PY" "$ROOT/manage.py" ensure_turn_models
}

# Runtime needs ffmpeg (audio uploads), a CJK-capable font (reports) and
# jemalloc (the server's allocator, RT_ALLOCATOR).
RUNTIME_APT=(ffmpeg fonts-nanum libjemalloc2)
# Tests also synthesise speech, convert audio, read PDFs, drive Chromium and
# check the shipped nginx config (nginx -t); OpenFst's tools run the static-graph
# build's steps on small FSTs (tests/speech/test_static_graph.py).
TEST_APT=("${RUNTIME_APT[@]}" fonts-noto-cjk espeak-ng sox poppler-utils poppler-data chromium nginx-light libfst-tools)
