# Images for microblog. Two targets share one build stage:
#   docker build --target command -t microblog-command:0.1.0 .
#   docker build --target query   -t microblog-query:0.1.0 .
# The projector runs from the query image: `python -m query_service.projector`.
#
# The one base image of every stage, pinned by tag. For production builds pin
# it by digest too: python:3.11.14-slim-trixie@sha256:<digest>.
FROM python:3.11.14-slim-trixie AS python-base

###############################################################################
# build: resolve the locked dependencies and install the project as a wheel
# into /app/.venv. Nothing from this stage but the virtualenv reaches the
# runtime images, so uv, pip and the sources never ship.
###############################################################################
FROM python-base AS build

# uv is pinned to the version the lock file was written with (Makefile UV_VERSION).
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"

# UV_COMPILE_BYTECODE: write .pyc files now, because the runtime filesystem is
#   read-only and PYTHONDONTWRITEBYTECODE stops Python from trying later.
# UV_NO_CACHE: nothing to reuse inside a one-shot build layer (the dependency
#   layer below is what Docker caches); plain RUN, no BuildKit cache mounts,
#   so `minikube image build` and older builders work too.
# UV_PYTHON_DOWNLOADS=never: use the base image's interpreter, the same one the
#   runtime stage has at the same path (/usr/local/bin/python3.11).
ENV UV_COMPILE_BYTECODE=1 \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /src

# Dependencies first, in their own layer: it is rebuilt only when the lock changes.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-editable --no-install-project

# Then the project itself. --no-editable installs it as a wheel into the venv,
# so /src is not needed at run time. The `embedded` extra (in-memory test
# store) is deliberately not installed.
COPY . .
RUN uv sync --frozen --no-dev --no-editable

###############################################################################
# runtime: the slim interpreter, the venv, a numeric non-root user. No
# compilers, no uv, no sources.
###############################################################################
FROM python-base AS runtime

ARG APP_UID=10001
# A passwd entry for the numeric user keeps getpass/expanduser happy; HOME is
# /tmp because it is the only writable path (an emptyDir in Kubernetes).
RUN groupadd --gid "${APP_UID}" app \
 && useradd --uid "${APP_UID}" --gid "${APP_UID}" --home-dir /tmp --no-create-home \
      --shell /usr/sbin/nologin app

# Owned by root and not writable by the app user: the code is immutable.
COPY --from=build /app/.venv /app/.venv

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONFAULTHANDLER=1 \
    HOME=/tmp \
    BIND_HOST=0.0.0.0

WORKDIR /app
USER ${APP_UID}:${APP_UID}

# Docker-only health check (Kubernetes uses the chart's probes instead).
# HEALTH_PORT defaults to the image's service port; set it to 8083 when running
# the projector from the query image.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['HEALTH_PORT'], timeout=2)"]

###############################################################################
# targets
###############################################################################
FROM runtime AS command
ENV HEALTH_PORT=8081
EXPOSE 8081
CMD ["python", "-m", "command_service"]

FROM runtime AS query
ENV HEALTH_PORT=8082
EXPOSE 8082
CMD ["python", "-m", "query_service"]
