# The web image: daphne serving interview-rt. Models are mounted or downloaded
# into /app/var/models (RT_VOSK_MODELS_DIR) at runtime, not baked in.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=interview_rt.settings.production

RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg fonts-nanum libjemalloc2 curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN SECRET_KEY=build-only DEBUG=false python manage.py collectstatic --noinput -v 0

RUN useradd --create-home app && mkdir -p /app/var && chown -R app /app/var
USER app
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --retries=5 CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
CMD ["sh", "-c", "python manage.py migrate --noinput && exec python -m interview_rt.serve -b 0.0.0.0 -p 8000 interview_rt.asgi:application"]
