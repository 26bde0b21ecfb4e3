#!/usr/bin/env bash
# Makes sure PostgreSQL and RabbitMQ (with its management and Prometheus plugins) run on
# localhost.
# Installs them from Debian's packages when absent (as root), starts them when down,
# and waits until both answer. Safe to run again and again.
set -euo pipefail

log() { echo "ensure-infra: $*" >&2; }

missing=()
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
command -v rabbitmq-server >/dev/null 2>&1 || missing+=(rabbitmq-server)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    log "please install: ${missing[*]} (sudo apt-get install ${missing[*]})"; exit 1
  fi
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# PostgreSQL: start every cluster that is down, then insist on trust for local TCP.
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  for version in $(ls /etc/postgresql); do
    log "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
fi
for _ in $(seq 60); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.5; done
pg_isready -h 127.0.0.1 -p 5432 -q || { log "PostgreSQL does not answer on 127.0.0.1:5432"; exit 1; }
if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    hba=$(su postgres -c "psql -tAc 'show hba_file'")
    log "allowing trust for postgres on 127.0.0.1 in $hba (development machine)"
    sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
    su postgres -c "psql -tAc 'select pg_reload_conf()'" >/dev/null
  else
    log "cannot connect as postgres@127.0.0.1; set ZD_DATABASE_URL"; exit 1
  fi
fi

# RabbitMQ: start when down, enable the management API (used for department users) and
# the Prometheus endpoint on :15692 (scraped by deploy/prometheus/prometheus.yml).
if ! rabbitmqctl -q status >/dev/null 2>&1; then
  log "starting RabbitMQ"
  rabbitmq-server -detached
  rabbitmqctl -q await_startup --timeout 120 >/dev/null 2>&1 || true
fi
for plugin in rabbitmq_management rabbitmq_prometheus; do
  if ! rabbitmq-plugins -q list -e "^$plugin\$" 2>/dev/null | grep -q "$plugin"; then
    log "enabling $plugin"
    rabbitmq-plugins -q enable "$plugin" >/dev/null
  fi
done
answers() { curl -sf -u guest:guest "$1" >/dev/null 2>&1; }
for _ in $(seq 120); do
  answers http://127.0.0.1:15672/api/overview && answers http://127.0.0.1:15692/metrics && exit 0
  sleep 0.5
done
answers http://127.0.0.1:15672/api/overview || log "RabbitMQ management API does not answer on 127.0.0.1:15672"
answers http://127.0.0.1:15692/metrics || log "RabbitMQ Prometheus endpoint does not answer on 127.0.0.1:15692"
exit 1
