# The gateway alone, in front of a vLLM that runs elsewhere (compose.yaml's vllm service, a
# Kubernetes deployment, ...): no torch, no CUDA, ~200 MB.
#
#   docker build -f deploy/gateway.Dockerfile -t hrstack-gateway:0.1.0 .   # from the repo root
#   docker run -p 8000:8000 -e UPSTREAM_URLS=http://vllm:8100 -e PROFILE=24gb hrstack-gateway:0.1.0
#
# UPSTREAM_URLS is required (the image cannot launch vLLM); PROFILE names the engine profile the
# upstreams run with, so admission and timeouts match them (unset, no GPU here means `cpu`).
# Python 3.11: the version requirements/serve.txt is resolved on.
FROM python:3.11.13-slim-bookworm AS base

# PID 1 gets no default signal handling and reaps nothing; tini forwards SIGTERM to the gateway.
# Pinned to Debian bookworm's build (the base image's release).
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
    && rm -rf /var/lib/apt/lists/*

# Dependencies before source: this layer is rebuilt only when the lock changes.
COPY requirements/serve.txt /opt/hrstack/serve.txt
RUN python -m venv /opt/hrstack/venv \
    && /opt/hrstack/venv/bin/pip install --no-cache-dir --no-deps --require-hashes \
        -r /opt/hrstack/serve.txt

# The wheel is built in a throwaway stage, so setuptools (pinned by hash) never reaches the image.
FROM base AS wheel
ARG SETUPTOOLS="setuptools==78.1.1 --hash=sha256:c3a9c4211ff4c309edb8b8c4f1cbfa7ae324c4ba9f91ff254e3d305b9fd54561"
RUN python -m venv /tmp/build \
    && echo "$SETUPTOOLS" > /tmp/build.txt \
    && /tmp/build/bin/pip install --no-cache-dir --require-hashes -r /tmp/build.txt
WORKDIR /src
# hrstack/ holds links to the folders beside it; the wheel carries them as one package.
COPY pyproject.toml README.md ./
COPY hrstack ./hrstack
COPY configs ./configs
COPY deploy ./deploy
COPY server ./server
COPY tasks ./tasks
COPY training ./training
COPY validators ./validators
RUN /tmp/build/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /dist .

FROM base
COPY --from=wheel /dist/ /tmp/dist/
# Not editable: the image runs the wheel, read-only to the user that runs it. The import proves
# the lock holds everything the gateway needs (--no-deps installs nothing else).
RUN /opt/hrstack/venv/bin/pip install --no-cache-dir --no-deps /tmp/dist/hrstack-*.whl \
    && rm -rf /tmp/dist \
    && /opt/hrstack/venv/bin/pip check \
    && /opt/hrstack/venv/bin/python -c "import hrstack.server.launcher"

# A non-root user; the audit log is its one writable place (compose mounts a volume there).
RUN groupadd --gid 10001 hrstack \
    && useradd --no-log-init --uid 10001 --gid hrstack --create-home --shell /usr/sbin/nologin hrstack \
    && mkdir -p /var/lib/hrstack \
    && chown hrstack:hrstack /var/lib/hrstack

ENV PATH=/opt/hrstack/venv/bin:$PATH \
    AUDIT_LOG_PATH=/var/lib/hrstack/audit/rank.jsonl \
    PORT=8000 \
    PYTHONUNBUFFERED=1

USER 10001:10001
WORKDIR /home/hrstack
EXPOSE 8000

# /readyz is 503 until an upstream answers and the self-check has passed; the start period
# covers the gateway's own start, not vLLM's (compose starts the gateway once vLLM is healthy).
HEALTHCHECK --start-period=60s --interval=15s --timeout=5s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('PORT', '8000'), timeout=4)"]

ENTRYPOINT ["/usr/bin/tini", "--", "hrstack"]
CMD ["serve"]
