# Shared helpers for scripts/run and scripts/test (sourced, not executed).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf 'casework: %s\n' "$*" >&2; }

missing_system_packages() {
  local pkg
  command -v dpkg-query >/dev/null 2>&1 || return 0
  grep -Ev '^\s*(#|$)' "$ROOT/scripts/system-packages.txt" | while read -r pkg; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
  done
}

# Install the Debian packages by name; without root or sudo, say exactly what to run.
ensure_system_packages() {
  local missing sudo=""
  missing="$(missing_system_packages | tr '\n' ' ')"
  [ -z "${missing// }" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; else
      say "missing system packages: $missing"
      say "install them with: sudo apt-get install -y $missing"
      return 1
    fi
  fi
  say "installing system packages: $missing"
  $sudo apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
}

# Create the virtual environment and install requirements when they change.
ensure_venv() {
  local requirements="$1" stamp
  if [ ! -x "$PY" ]; then
    command -v python3 >/dev/null || { say "Python 3.11 or newer is needed (apt-get install python3 python3-venv)"; exit 1; }
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { say "Python 3.11 or newer is needed"; exit 1; }
    say "creating the virtual environment in .venv"
    python3 -m venv "$VENV"
  fi
  stamp="$VENV/.installed-$(cat "$ROOT"/requirements*.txt | sha256sum | cut -c1-16)-$(basename "$requirements")"
  if [ ! -f "$stamp" ]; then
    say "installing Python packages from $(basename "$requirements")"
    "$PY" -m pip install -q --disable-pip-version-check -r "$ROOT/$requirements"
    touch "$stamp"
  fi
}

port_open() {  # host port
  "$PY" - "$1" "$2" <<'PYEOF'
import socket, sys
s = socket.socket()
s.settimeout(0.5)
sys.exit(0 if s.connect_ex((sys.argv[1], int(sys.argv[2]))) == 0 else 1)
PYEOF
}

# Start a private, non-persistent redis-server on a port if the binary exists.
start_redis() {  # port
  local port="$1"
  port_open 127.0.0.1 "$port" && return 0
  command -v redis-server >/dev/null 2>&1 || return 1
  mkdir -p "$ROOT/instance"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
    --dir "$ROOT/instance" --logfile "$ROOT/instance/redis-$port.log" >/dev/null
  for _ in $(seq 1 50); do port_open 127.0.0.1 "$port" && return 0; sleep 0.1; done
  return 1
}

compile_translations() {
  "$VENV/bin/pybabel" -q compile -d "$ROOT/casework/translations" \
    || say "could not compile the translations: pages will show in English only"
}
