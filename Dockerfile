# Zero Distance's image: the four services (intake, routing, notify, reporting) and the admin
# CLI that the deployment's one-shot jobs run (migrations, roles, topology, directory,
# RabbitMQ definitions). The container runs the service named by ZD_SERVICE; its health check
# asks that service's readiness, GET /health/ready. The directory is not in the image: the
# jobs read the file ZD_DIRECTORY names, mounted (a ConfigMap in Kubernetes, a file of the
# host in Compose).
# Target devsink is notify's development sink, for Compose only.
#
#   build, from the repository root:  docker build -t zero-distance .
#   run one service:   docker run --rm -e ZD_SERVICE=routing -e ZD_ROUTING_DATABASE_URL=...
#                        -e ZD_ROUTING_AMQP_URI=... -p 8002:8002 zero-distance
#   the admin CLI:     docker run --rm -e ZD_DATABASE_URL=... -e ZD_DIRECTORY=/etc/zero-distance/directory.yaml
#                        -v "$PWD/deploy/directory.yaml:/etc/zero-distance/directory.yaml:ro"
#                        zero-distance python -m services.admin deploy
#   the sink:          docker build --target devsink -t zero-distance-devsink .
#   the whole system:  docker compose -f deploy/compose.yaml up --build   (deploy/compose.yaml)
#
# The bases are pinned by tag and digest (docker buildx imagetools inspect python:3.11-slim-bookworm
# gives the digest of a newer build of the tag).

# Builder: a virtual environment with the pinned runtime dependencies of pyproject.toml,
# resolved with constraints.txt, and neither pip nor setuptools in it: the base's pip installs
# into it from outside (--python). Only the dependencies are installed: the code itself is
# copied into /app below.
FROM python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /build
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print(*p['dependencies'], sep='\n')" \
      > requirements.txt \
 && python -m venv --without-pip /opt/venv \
 && python -m pip --python /opt/venv/bin/python install -c constraints.txt -r requirements.txt

# What the development sink adds: the devstack extra (aiosmtpd), into a folder of its own
# that target devsink puts on the path (the runtime's virtual environment stays as it is).
FROM builder AS devsink-builder
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print(*p['optional-dependencies']['devstack'], sep='\n')" \
      > devstack.txt \
 && python -m pip install --target /opt/devsink -c constraints.txt -r devstack.txt

# Runtime: the same slim base, the virtual environment and the application, nothing to build
# or install with. The code belongs to root and cannot be changed by the user that runs it.
FROM python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    ZD_BIND=0.0.0.0
RUN groupadd --system --gid 10001 zd \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin zd
# The base installs pip, setuptools and wheel into the system's Python; nothing here installs.
RUN rm -rf /usr/local/bin/pip /usr/local/bin/pip3 /usr/local/bin/pip3.11 /usr/local/bin/wheel \
      /usr/local/lib/python3.11/site-packages/pip /usr/local/lib/python3.11/site-packages/pip-*.dist-info \
      /usr/local/lib/python3.11/site-packages/setuptools /usr/local/lib/python3.11/site-packages/setuptools-*.dist-info \
      /usr/local/lib/python3.11/site-packages/pkg_resources /usr/local/lib/python3.11/site-packages/_distutils_hack \
      /usr/local/lib/python3.11/site-packages/distutils-precedence.pth \
      /usr/local/lib/python3.11/site-packages/wheel /usr/local/lib/python3.11/site-packages/wheel-*.dist-info \
      /usr/local/lib/python3.11/ensurepip
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# the four services and the admin CLI; not the development sink (target devsink) nor
# services/devstack.py (make run's)
COPY services/__init__.py services/
COPY services/common/ services/common/
COPY services/admin/ services/admin/
COPY services/intake/ services/intake/
COPY services/routing/ services/routing/
COPY services/notify/ services/notify/
COPY services/reporting/ services/reporting/
# var/: what the admin CLI writes (RabbitMQ definitions, demo credentials); a volume mounted
# here starts out owned by the user below.
RUN install -d -o 10001 -g 10001 -m 0750 /app/var
USER 10001:10001
EXPOSE 8001 8002 8003 8004
# The port of the service this container runs: ZD_<SERVICE>_PORT, else its default. Readiness
# (/health/ready), not /health: a broker outage must not make intake, which still takes
# concerns into its outbox, unhealthy where an orchestrator replaces unhealthy containers.
# A 503 (its database down) or no answer is unhealthy; so is a container without ZD_SERVICE
# (the jobs and the development sink replace or disable this check).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; from services.common.config import settings; urllib.request.urlopen('http://127.0.0.1:%d/health/ready' % settings().port(os.environ['ZD_SERVICE']), timeout=4)"]
CMD ["sh", "-c", "exec python -m \"services.${ZD_SERVICE:?set ZD_SERVICE to intake, routing, notify or reporting}\""]

# The development sink (deploy/compose.yaml's devsink): SMTP on 1025, the SMS and WeChat
# gateways, webhooks and its page on 8025. Never deployed: `--target devsink` builds it.
FROM runtime AS devsink
ENV PYTHONPATH=/opt/devsink
COPY --from=devsink-builder /opt/devsink /opt/devsink
COPY services/devsink/ services/devsink/
EXPOSE 1025 8025
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8025/messages.json', timeout=4)"]
CMD ["python", "-m", "services.devsink", "--bind", "0.0.0.0", "--smtp-port", "1025", "--http-port", "8025"]

# The default target (a build without --target): the runtime, without the sink.
FROM runtime
