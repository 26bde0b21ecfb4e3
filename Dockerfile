# Zero Distance's one image: the four services (intake, routing, notify, reporting), the
# admin CLI that the deployment's one-shot jobs run (migrations, roles, topology, directory,
# RabbitMQ definitions) and notify's development sink. The container runs the service named
# by ZD_SERVICE; its health check asks that service's GET /health.
#
#   build, from the repository root:  docker build -t zero-distance .
#   run one service:   docker run --rm -e ZD_SERVICE=routing -e ZD_ROUTING_DATABASE_URL=...
#                        -e ZD_ROUTING_AMQP_URI=... -p 8002:8002 zero-distance
#   the admin CLI:     docker run --rm -e ZD_DATABASE_URL=... zero-distance python -m services.admin deploy
#   the whole system:  docker compose -f deploy/compose.yaml up --build   (deploy/compose.yaml)

# Builder: a virtual environment with the pinned runtime dependencies of pyproject.toml and
# its devstack extra (aiosmtpd, for the development sink), resolved with constraints.txt.
# Only the dependencies are installed: the code itself is copied into /app below, so that
# the admin CLI finds deploy/directory.yaml beside it.
FROM python:3.11-slim-bookworm AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /build
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print(*p['dependencies'], *p['optional-dependencies']['devstack'], sep='\n')" \
      > requirements.txt \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install -c constraints.txt -r requirements.txt

# Runtime: the same slim base, the virtual environment and the application, nothing to
# build with. The code belongs to root and cannot be changed by the user that runs it.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    ZD_BIND=0.0.0.0
RUN groupadd --system --gid 10001 zd \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin zd
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY services/ services/
COPY deploy/directory.yaml deploy/directory.yaml
# var/: what the admin CLI writes (RabbitMQ definitions, demo credentials); a volume mounted
# here starts out owned by the user below.
RUN install -d -o 10001 -g 10001 -m 0750 /app/var
USER 10001:10001
EXPOSE 8001 8002 8003 8004
# The port of the service this container runs: ZD_<SERVICE>_PORT, else its default. A 503
# (a dependency down) or no answer is unhealthy; so is a container without ZD_SERVICE (the
# jobs and the development sink replace or disable this check).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; from services.common.config import settings; urllib.request.urlopen('http://127.0.0.1:%d/health' % settings().port(os.environ['ZD_SERVICE']), timeout=4)"]
CMD ["sh", "-c", "exec python -m \"services.${ZD_SERVICE:?set ZD_SERVICE to intake, routing, notify or reporting}\""]
