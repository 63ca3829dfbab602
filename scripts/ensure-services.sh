#!/usr/bin/env bash
# Makes sure PostgreSQL, RabbitMQ and Redis answer on loopback for gust:
# a service that answers is left alone; one that is installed but down is
# started; one that is missing is installed with apt-get (as root) and
# started. It says what it did, or why it cannot, and exits non-zero then.
set -uo pipefail

say() { echo "ensure-services: $*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port seconds
  local i
  for ((i = 0; i < $2 * 4; i++)); do
    port_open "$1" && return 0
    sleep 0.25
  done
  return 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi
}

apt_updated=0
install_pkgs() {
  if [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
    say "cannot install $* (not root and no password-less sudo); install them and run again"
    return 1
  fi
  say "installing $* with apt-get"
  if [ $apt_updated -eq 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
    apt_updated=1
  fi
  # Debian's packages try to start their service through invoke-rc.d; that
  # fails without systemd, which is harmless: we start them below.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

ensure_postgres() {
  if port_open 5432; then say "PostgreSQL is up on 127.0.0.1:5432"; return 0; fi
  if ! command -v pg_ctlcluster >/dev/null; then
    install_pkgs postgresql || return 1
  fi
  local ver
  ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  if [ -z "$ver" ]; then
    say "PostgreSQL is installed but has no cluster; creating one"
    ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
    as_root pg_createcluster "$ver" main >&2 || return 1
  fi
  local hba="/etc/postgresql/$ver/main/pg_hba.conf"
  if [ -f "$hba" ] && ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    say "allowing trust auth on loopback in $hba (local development machine)"
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  say "starting PostgreSQL $ver"
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 || true
  if wait_port 5432 30; then say "PostgreSQL started"; return 0; fi
  say "PostgreSQL did not come up on 127.0.0.1:5432; see /var/log/postgresql/"
  return 1
}

ensure_redis() {
  if port_open 6379; then say "Redis is up on 127.0.0.1:6379"; return 0; fi
  if ! command -v redis-server >/dev/null; then
    install_pkgs redis-server || return 1
  fi
  say "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >&2 || true
  if wait_port 6379 15; then say "Redis started"; return 0; fi
  say "Redis did not come up on 127.0.0.1:6379"
  return 1
}

ensure_rabbitmq() {
  if port_open 5672; then say "RabbitMQ is up on 127.0.0.1:5672"; return 0; fi
  if ! command -v rabbitmq-server >/dev/null; then
    install_pkgs rabbitmq-server || return 1
  fi
  say "starting RabbitMQ (takes a few seconds)"
  as_root rabbitmq-server -detached >&2 || true
  local i
  for ((i = 0; i < 60; i++)); do
    if as_root rabbitmqctl -q status >/dev/null 2>&1 && port_open 5672; then
      say "RabbitMQ started"
      return 0
    fi
    sleep 1
  done
  say "RabbitMQ did not come up on 127.0.0.1:5672; see /var/log/rabbitmq/"
  return 1
}

# The management API (127.0.0.1:15672) gives the monitor's broker page
# unacknowledged counts and publish / deliver rates ([flower] broker_api);
# the tests of that page need it.
ensure_rabbitmq_management() {
  if port_open 15672; then say "RabbitMQ's management API is up on 127.0.0.1:15672"; return 0; fi
  say "enabling RabbitMQ's management plugin"
  as_root rabbitmq-plugins enable rabbitmq_management >&2 || return 1
  if wait_port 15672 30; then say "RabbitMQ's management API started"; return 0; fi
  say "RabbitMQ's management API did not come up on 127.0.0.1:15672"
  return 1
}

rc=0
ensure_postgres || rc=1
ensure_redis || rc=1
if ensure_rabbitmq; then ensure_rabbitmq_management || rc=1; else rc=1; fi
exit $rc
