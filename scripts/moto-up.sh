#!/usr/bin/env bash
# Starts a moto server (the AWS API emulator) on 127.0.0.1 with a free port and
# prints the shell lines that point the AWS SDK (and palisade) at it:
#   eval "$(bash scripts/moto-up.sh)"; ...; kill "$MOTO_PID"
# moto comes from the venv .ci/run installs ($PALISADE_VENV, default ~/.cache/palisade-venv).
set -euo pipefail
VENV="${PALISADE_VENV:-$HOME/.cache/palisade-venv}"
if [ ! -x "$VENV/bin/moto_server" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.*' >&2
fi
PORT="$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
LOG="${TMPDIR:-/tmp}/moto-$PORT.log"
MOTO_IAM_LOAD_MANAGED_POLICIES=true nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$LOG" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 MOTO_PID=$PID"
    exit 0
  fi
  sleep 0.1
done
echo "moto did not start; see $LOG" >&2
kill "$PID" 2>/dev/null || true
exit 1
