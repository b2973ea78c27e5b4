"""The one object that holds every runtime tunable, read from the environment.

Django's own settings (DATABASES, CHANNEL_LAYERS, ...) are derived in
``base.py``; everything interview-rt itself tunes lives here, as
``settings.RT``. Each field's default is documented in docs/configuration.md;
the environment variable is the field name in upper case prefixed ``RT_``
unless ``env`` names another (for variables users already know, such as
``OPENAI_API_KEY``).

Tests change a value with ``override_settings(RT=replace(settings.RT, ...))``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """An environment variable holds a value its setting cannot take."""


def _env_name(f) -> str:
    return f.metadata.get("env") or f"RT_{f.name.upper()}"


def _setting(default: Any, doc: str, env: str | None = None):
    return field(default=default, metadata={"doc": doc, "env": env})


TURN_RULES = ("signals", "silence")  # RT_TURN_RULE's values (live/listener.py)
ALLOCATORS = ("jemalloc", "system")  # RT_ALLOCATOR's values (interview_rt/allocator.py)
EVENT_LOOPS = ("uvloop", "asyncio")  # RT_EVENT_LOOP's values (interview_rt/serve.py)


@dataclass(frozen=True)
class RuntimeSettings:
    # --- speech recognition -------------------------------------------------
    speech_engine: str = _setting(
        "speech.vosk_engine.VoskEngine",
        "Dotted path of the speech engine class: it implements speech.interface.Recognizer "
        "and is made once, with no arguments (docs/speech.md, 'Adding an engine').",
    )
    vosk_model_path: str = _setting(
        "",
        "One Vosk model folder, used for the default language; other languages "
        "are looked up in RT_VOSK_MODELS_DIR and vosk_model_<lang> packages.",
    )
    vosk_models_dir: str = _setting(
        "var/models",
        "Folder that `manage.py download_vosk_model` unpacks into and the "
        "registry searches for `<lang>` models.",
    )
    vosk_static_graph: bool = _setting(
        True,
        "Decode with a static graph that `manage.py build_static_graph` built from "
        "the model found, while it is current (docs/speech.md, 'A static graph'); "
        "off: always the model's own lazily composed graph.",
    )
    default_language: str = _setting(
        "en", "Language of new sessions (ISO 639-1); picks the speech model."
    )
    stt_preload: bool = _setting(
        True,
        "Load the default language's model in the background when the server "
        "starts, so the first candidate does not wait for it.",
    )
    stt_threads: int = _setting(
        2, "Size of the thread pool that runs Vosk decoding (one decoder per thread)."
    )
    stt_batch_window_s: float = _setting(
        0.1,
        "Longest a live stream's frame waits to be decoded together with the other "
        "live streams' frames (cores kept warm; speech/batches.py). 0 decodes "
        "each frame at once.",
    )
    stt_keep_warm: bool = _setting(
        True,
        "Give new streams the reset recognisers of closed ones: a recogniser that "
        "has decoded speech is several times faster than a new one.",
    )
    # Six: the most fresh interviews a 2-core machine decoded within the 500 ms
    # target in issue 13's measurements once recognisers start warm (at 8 it
    # fell behind real time: audio_overflow, answers committed 6-11 s late).
    # An upper bound only: admission measures the decoders' headroom below it.
    stt_max_streams: int = _setting(
        6,
        "Upper bound of live audio streams admitted at once (per deployment when "
        "admission is shared through Redis); below it, admission goes by the "
        "decoders' measured headroom (docs/speech.md, 'Admission').",
    )
    stt_latency_target_ms: int = _setting(
        500,
        "Admission target: a new interview's audio is refused (`server_busy`) when one "
        "more would push the predicted wait from an answer's last frame to its final "
        "transcript past this. 0 turns admission by measured headroom off: "
        "RT_STT_MAX_STREAMS alone bounds live streams.",
    )
    stt_load_window_s: float = _setting(
        30.0,
        "Window over which the decoders' real-time factor and wait for finals are measured.",
    )
    stt_admission_idle_s: float = _setting(
        120.0,
        "An admitted interview keeps its place across turns and reconnects; it is "
        "released when the session ends or after this long with no open audio stream.",
    )
    stt_warm_pool_size: int = _setting(
        6,
        "Recognisers kept warm: warmed at start-up on a short recording and refilled in "
        "the background, so new interviews start warm. Those lent to open streams count "
        "(they return when their streams close), so the first this many concurrent "
        "streams start warm; set it to RT_STT_MAX_STREAMS for all of them. 0 turns the "
        "pool off.",
    )
    stt_recycle_after_s: float = _setting(
        300.0,
        "A recogniser that has decoded more than this many seconds of audio is closed "
        "when its stream ends, not kept warm, and a new one is warmed in its place: Vosk's "
        "recognisers grow with every new word they decode (their cache of the decoding "
        "graph), so this bounds the server's memory. Only with the warm pool on (it warms "
        "the replacement); 0 keeps them for ever.",
    )
    stt_recycle_jitter: float = _setting(
        0.5,
        "Each recogniser is recycled after a point drawn between (1 - this) x "
        "RT_STT_RECYCLE_AFTER_S and RT_STT_RECYCLE_AFTER_S, so recognisers that started "
        "together are not all closed and rebuilt at once (as gunicorn's "
        "max_requests_jitter staggers worker restarts): memory moves in small steps. "
        "0 recycles every one at the same point.",
    )
    stt_warm_refill_delay_s: float = _setting(
        10.0,
        "After a stream takes a warm recogniser, how long the pool waits before warming "
        "another: a closed stream's recogniser often comes back first (clients that "
        "reconnect per utterance), and warming one costs the CPU of decoding a 6 s answer. "
        "0 refills at once.",
    )
    stt_sample_rate: int = _setting(
        16000, "Sample rate the recogniser is fed (audio is resampled to it)."
    )
    audio_max_frame_bytes: int = _setting(
        65536, "Largest binary audio frame accepted (bytes); daphne's limit is 1 MiB."
    )
    audio_max_queued_frames: int = _setting(
        50,
        "Audio frames that may wait for the recogniser per connection before "
        "the client is told `audio_overflow` and further frames are dropped.",
    )
    busy_retry_s: float = _setting(
        10.0,
        "The candidate page retries a `server_busy` refusal after this long, then "
        "after twice, three times as long ...",
    )
    busy_retry_max_s: float = _setting(
        60.0, "Longest wait between two retries of a `server_busy` refusal (candidate page)."
    )
    save_turn_audio: bool = _setting(True, "Keep each spoken turn as a WAV file.")
    recording_retention_days: int = _setting(
        0,
        "Days a spoken answer's recorded audio is kept: `manage.py purge_recordings` (run "
        "daily, e.g. from cron) deletes older recordings; transcripts stay. 0 keeps them forever.",
    )
    partial_interval_s: float = _setting(
        0.1, "Minimum gap between two partial transcripts sent for one session."
    )
    # --- turn taking --------------------------------------------------------
    turn_silence_s: float = _setting(
        1.5,
        "Audio-time silence after the last recognised word that ends a turn.",
    )
    turn_takeback_grace_s: float = _setting(
        4.0,
        "Take-back: audio time after a turn that silence ended within which the "
        "candidate's resumed speech reopens that answer (its AI reply is cancelled, "
        "unless the browser already reported it spoken with `ai.spoken`). 0 turns it off.",
    )
    turn_hold_reopen_s: float = _setting(
        2.0,
        "Take-back by `turn.hold`: audio time after a turn that silence ended within "
        'which "Give me a moment" reopens that answer (a person\'s reaction to the '
        "listening indicator; the rule may end a pause in 0.6 s); later, the hold is "
        "for the next answer. At most RT_TURN_TAKEBACK_GRACE_S.",
    )
    turn_rule: str = _setting(
        "signals",
        "What ends a spoken answer: `signals` (turn-taking v2: Silero VAD, Smart Turn, the words, "
        "the candidate's rhythm; falls back to `silence` without the models) or `silence` "
        "(RT_TURN_SILENCE_S after the last speech). docs/speech.md, 'Turn-taking v2'.",
    )
    # --- storage faults (docs/reliability.md) ---------------------------------
    db_retry_attempts: int = _setting(
        3,
        "Tries of a turn's database write (a lost connection is reopened between "
        "tries) before the client is told `storage_unavailable`; a live interview "
        "then keeps the answer and goes on trying.",
    )
    db_retry_delay_s: float = _setting(
        0.5, "Wait before the second try of a failed turn write (seconds); doubles each try."
    )
    db_retry_max_delay_s: float = _setting(
        5.0,
        "Longest wait between two tries of a turn write (seconds), also the pace at "
        "which a live interview retries a kept answer while the database is down.",
    )
    # Turn-taking v2's signals (docs/speech.md, "Turn-taking v2: the signals"):
    # live sessions use them with RT_TURN_RULE=signals (live/listener.py);
    # measured by benchmarks/turns_quality.py.
    turn_models_dir: str = _setting(
        "var/models/turn",
        "Folder of the turn-taking models (Silero VAD, Smart Turn v3.2) that "
        "`manage.py ensure_turn_models` installs, checksummed.",
    )
    turn_model_threads: int = _setting(
        1, "Threads of one turn-taking model call (onnxruntime intra_op_num_threads)."
    )
    turn_vad_threshold: float = _setting(
        0.5, "Silero VAD speech probability at or above which a 32 ms frame counts as voiced."
    )
    turn_smart_turn_after_s: float = _setting(
        0.2, "Silence after the last speech at which Smart Turn is asked if the turn is complete."
    )
    # A quarter of the words' weight: on the project's test speech Smart Turn
    # called every pause complete (benchmarks/turns_quality.py), so the words,
    # when they give a verdict, must be able to outweigh it.
    turn_smart_turn_weight: float = _setting(
        0.25, "Weight of Smart Turn's P(complete) in the turn's completeness score."
    )
    turn_lexical_weight: float = _setting(
        1.0,
        "Weight of the words' verdict (sentence ending or mid-clause: connective ending, "
        "filler) in the turn's completeness score.",
    )
    turn_complete_factor: float = _setting(
        0.5,
        "Silence needed, as a share of the candidate's threshold, when the turn is surely complete.",
    )
    turn_incomplete_factor: float = _setting(
        2.5,
        "Silence needed, as a multiple of the candidate's threshold, when it is surely mid-clause.",
    )
    turn_min_wait_s: float = _setting(
        0.6, "Shortest silence that may end a turn under the signals' rule."
    )
    turn_max_wait_s: float = _setting(
        4.0, "Longest silence the signals' rule waits before it ends a turn."
    )
    turn_rhythm_margin: float = _setting(
        1.5,
        "The candidate's threshold is this times the upper quartile of the pauses "
        "inside their earlier answers (within the bounds below).",
    )
    turn_rhythm_min_pauses: int = _setting(
        3,
        "Pauses heard in earlier answers before they change the threshold (else RT_TURN_SILENCE_S).",
    )
    turn_word_tail_s: float = _setting(
        0.3,
        "Signals' rule: a recognised word counts as speech up to this long after the last "
        "voiced audio (Silero VAD); later word ends are the recogniser hearing noise.",
    )
    turn_rhythm_min_s: float = _setting(
        1.0, "Lowest silence threshold the candidate's rhythm may give."
    )
    turn_rhythm_max_s: float = _setting(
        2.5, "Highest silence threshold the candidate's rhythm may give."
    )
    # --- text answers and uploads -------------------------------------------
    answer_max_chars: int = _setting(10000, "Longest typed answer (`answer.text`).")
    text_frame_max_chars: int = _setting(
        65536,
        "Longest WebSocket text frame a socket reads (characters); a longer one gets "
        "`error` `frame_too_large`. Keep it over 6 x RT_ANSWER_MAX_CHARS (an escaped answer).",
    )
    upload_max_bytes: int = _setting(
        25 * 1024 * 1024, "Largest audio upload for voice_to_text (bytes)."
    )
    upload_max_seconds: float = _setting(600.0, "Longest audio upload for voice_to_text (seconds).")
    upload_decode_timeout_s: float = _setting(
        30.0,
        "Longest an upload's probe or decode (ffmpeg) may run before the file counts as broken.",
    )
    # --- the AI interviewer -------------------------------------------------
    openai_api_key: str = _setting(
        "", "API key; empty runs the scripted interviewer.", env="OPENAI_API_KEY"
    )
    openai_base_url: str = _setting(
        "",
        "Base URL of any OpenAI-compatible API; empty is api.openai.com.",
        env="OPENAI_BASE_URL",
    )
    openai_model: str = _setting("gpt-4o-mini", "Chat model name.", env="OPENAI_MODEL")
    llm_timeout_s: float = _setting(30.0, "Timeout of one LLM request (seconds).")
    llm_max_retries: int = _setting(1, "Retries of a transient LLM error per turn.")
    max_follow_ups: int = _setting(1, "Follow-up questions at most per planned question.")
    llm_max_tokens: int = _setting(300, "Longest interviewer reply the model may write (tokens).")
    llm_temperature: float = _setting(0.5, "Sampling temperature of interviewer replies.")
    llm_retry_backoff_s: float = _setting(
        0.25, "Pause before retrying a failed LLM request (seconds)."
    )
    llm_recent_turns: int = _setting(
        6,
        "Transcript turns quoted in each interviewer prompt; older ones are in "
        "the running summary, so a prompt's size does not grow with the interview.",
    )
    llm_turn_max_chars: int = _setting(
        1500, "Longest transcript turn quoted in an interviewer prompt (characters)."
    )
    llm_summary_max_chars: int = _setting(
        1200, "Longest running summary of earlier answers in a prompt (characters)."
    )
    llm_stream_usage: bool = _setting(
        True,
        "Ask the server for token counts in the stream (stream_options.include_usage); "
        "turn off for servers that reject the option.",
    )
    llm_json_mode: str = _setting(
        "json_schema",
        "How structured output (evaluation, question drafts) is requested: json_schema, "
        "json_object, or none (the schema is in the prompt either way).",
    )
    llm_eval_max_tokens: int = _setting(
        3000, "Longest evaluation or question-draft reply (tokens)."
    )
    llm_eval_timeout_s: float = _setting(
        120.0, "Timeout of one evaluation or question-draft request (seconds)."
    )
    evaluation_threads: int = _setting(
        1,
        "Threads that run LLM evaluations after interviews end, off the real-time path.",
    )
    # --- reports ------------------------------------------------------------
    report_threads: int = _setting(1, "Thread pool size for PDF building.")
    report_font_path: str = _setting(
        "",
        "TrueType font for report text; empty searches for a TrueType Korean "
        "font (fonts-nanum). Noto CJK cannot be embedded by ReportLab (CFF outlines).",
    )
    # --- channel layer (Redis) ------------------------------------------------
    channel_layer_retry_s: float = _setting(
        1.0,
        "While Redis is unreachable, seconds between probes; sockets keep their own "
        "process's events meanwhile, and group memberships are restored when it answers "
        "(docs/reliability.md, 'Redis outage').",
    )
    # --- private files (recorded answers, reports) ----------------------------
    private_files_accel_prefix: str = _setting(
        "",
        "URL prefix of a proxy's internal location that maps to MEDIA_ROOT (e.g. "
        "/private-files): the authenticated file views then answer with "
        "X-Accel-Redirect and nginx sends the file (docs/deploy.md). Empty: the "
        "server streams the file itself.",
    )
    # --- links --------------------------------------------------------------
    public_base_url: str = _setting(
        "http://127.0.0.1:8000",
        "Absolute base of links the server hands out (join URLs).",
    )
    join_token_ttl_hours: int = _setting(
        72,
        "Hours after the scheduled end during which a join link still works; "
        "0 keeps links valid until the session completes.",
    )
    join_grace_minutes: int = _setting(
        0,
        "Minutes a join link still opens its interview after the session has ended "
        "(completed or cancelled), e.g. to read the closing words again; 0 refuses it at once.",
    )
    # --- logins -------------------------------------------------------------
    login_failure_limit: int = _setting(
        10,
        "Wrong passwords from one client address before its logins are refused with 429 "
        "(dashboard, admin and POST /api/auth/token/; django-axes). Load tests may raise it.",
    )
    login_cooloff_minutes: int = _setting(
        15,
        "Minutes a locked-out client address waits before it may try again; 0 keeps it "
        "locked until `manage.py axes_reset`.",
    )
    trusted_proxies: str = _setting(
        "",
        "Comma-separated addresses of reverse proxies whose X-Forwarded-For names the "
        "client; empty: the connection's own address (REMOTE_ADDR) is the client's.",
    )

    # --- rate limits (per client address; docs/deploy.md) ---------------------
    socket_rate: str = _setting(
        "60/minute",
        "New WebSocket connections one client address may open (`<count>/<second|minute|hour>`, "
        "several joined by `;`); one more is closed with 4429. Shared by every process through "
        "Redis when REDIS_URL is set. Empty: no limit. Load tests and benchmarks raise it.",
    )
    upload_rate: str = _setting(
        "30/minute",
        "Audio uploads one client address may send (POST /api/conversations/voice_to_text/ "
        "and POST /api/conversations/); one more is answered 429 with Retry-After. Same "
        "syntax and storage as RT_SOCKET_RATE; empty: no limit.",
    )
    # --- the server process ---------------------------------------------------
    allocator: str = _setting(
        "jemalloc",
        "The C allocator the server command (interview_rt/serve.py, bin/serve, the Docker "
        "image) runs on: `jemalloc` (preloaded; the server takes about 15% less CPU per live "
        "interview than on glibc's malloc; the system's malloc, with a warning, where jemalloc "
        "is not installed) or `system`.",
    )
    event_loop: str = _setting(
        "uvloop",
        "The event loop under the server command's Twisted reactor (interview_rt/serve.py): "
        "`uvloop` (libuv; the loop's own share of the server's CPU drops, docs/speech.md "
        "'Where /ws/asr/ spends its CPU') or `asyncio` (the standard library's).",
    )
    # --- monitoring ---------------------------------------------------------
    metrics_public: bool = _setting(
        False,
        "Serve /metrics (Prometheus) to anyone; off: staff only (API token or admin session) "
        "or an address in RT_METRICS_ALLOWED_IPS.",
    )
    metrics_allowed_ips: str = _setting(
        "",
        "Comma-separated client addresses (e.g. the Prometheus server) that may read /metrics "
        "without logging in; the address is taken as for RT_TRUSTED_PROXIES.",
    )

    def __post_init__(self) -> None:
        if self.turn_rule not in TURN_RULES:
            raise ConfigError(
                f"turn_rule: {self.turn_rule!r} is not one of {', '.join(TURN_RULES)}"
            )
        if self.allocator not in ALLOCATORS:
            raise ConfigError(
                f"allocator: {self.allocator!r} is not one of {', '.join(ALLOCATORS)}"
            )
        if self.event_loop not in EVENT_LOOPS:
            raise ConfigError(
                f"event_loop: {self.event_loop!r} is not one of {', '.join(EVENT_LOOPS)}"
            )
        if not 0.0 <= self.stt_recycle_jitter < 1.0:
            raise ConfigError(
                f"stt_recycle_jitter: {self.stt_recycle_jitter!r} is not in [0, 1) "
                "(a fraction of RT_STT_RECYCLE_AFTER_S)"
            )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> RuntimeSettings:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(_env_name(f))
            if raw is None:
                continue
            values[f.name] = _parse(f.name, type(f.default), raw)
        return cls(**values)

    @classmethod
    def documentation(cls) -> list[tuple[str, str, Any, str]]:
        """(env var, field, default, doc) rows for docs and `manage.py settings`."""
        return [(_env_name(f), f.name, f.default, f.metadata["doc"]) for f in fields(cls)]

    def models_dir(self, base_dir: Path) -> Path:
        path = Path(self.vosk_models_dir)
        return path if path.is_absolute() else base_dir / path


def _parse(name: str, kind: type, raw: str) -> Any:
    try:
        if kind is bool:
            lowered = raw.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        return kind(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: cannot read {raw!r} as {kind.__name__}") from exc
