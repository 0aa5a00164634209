#!/usr/bin/env bash
# Compare `palisade scan aws` with Prowler on one seeded moto account, in one run.
#
#   bash bench/aws.sh                    # palisade (release build) and Prowler
#   bash bench/aws.sh --palisade-only
#   PALISADE_BIN=target/debug/palisade bash bench/aws.sh   # time a given binary
#
# Starts moto (scripts/moto-up.sh), seeds it with the planted problems of
# scripts/aws-seed.py, installs Prowler into bench/.venv-prowler once, then
# times each tool against the same endpoint with /usr/bin/time (wall, user+sys
# CPU, peak RSS) on the services palisade collects, region us-east-1. The
# planted problems are the `bad-*` findings the end-to-end test asserts
# (crates/cli/tests/aws.rs); a tool "found" one when it reports a failing
# check on that resource whose id is palisade's rule or one of the Prowler
# equivalents listed with the rule.
set -euo pipefail
cd "$(dirname "$0")/.."

PROWLER_VERSION=5.46.0
PALISADE_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --palisade-only) PALISADE_ONLY=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done
[ -x /usr/bin/time ] || { echo "/usr/bin/time is required (apt-get install time)" >&2; exit 2; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/palisade-target}"
if [ -z "${PALISADE_BIN:-}" ]; then
  cargo build --release --locked -q -p palisade
  PALISADE_BIN="$CARGO_TARGET_DIR/release/palisade"
fi
VENV="${PALISADE_VENV:-$HOME/.cache/palisade-venv}"
PROWLER_VENV="${PROWLER_VENV:-bench/.venv-prowler}"
if [ "$PALISADE_ONLY" = 0 ] && [ ! -x "$PROWLER_VENV/bin/prowler" ]; then
  python3 -m venv "$PROWLER_VENV"
  "$PROWLER_VENV/bin/pip" install --quiet --disable-pip-version-check "prowler==$PROWLER_VERSION"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/palisade-bench-aws.XXXXXX")"
eval "$(bash scripts/moto-up.sh)"
trap 'kill "$MOTO_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
export PALISADE_HOME="$WORK/home" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
"$VENV/bin/python" scripts/aws-seed.py "$AWS_ENDPOINT_URL" > "$WORK/seed.json"

echo "== machine"
echo "cores:   $(nproc)"
echo "memory:  $(free -h | awk '/^Mem:/ {print $2}')"
echo "load:    $(uptime | sed 's/.*load average: //')"
echo "palisade: $("$PALISADE_BIN" --version) ($PALISADE_BIN)"

measure() { # name, command...
  local name="$1"; shift
  /usr/bin/time -f "%e %U %S %M" -o "$WORK/$name.time" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" || true
  read -r wall user sys rss < <(tail -n 1 "$WORK/$name.time")
  printf '%-9s wall %6.2f s   cpu %6.2f s   peak RSS %5d MB\n' "$name" "$wall" "$(echo "$user + $sys" | bc)" "$((rss / 1024))"
}

echo "== runs (moto at $AWS_ENDPOINT_URL, region us-east-1)"
measure palisade "$PALISADE_BIN" scan aws --regions us-east-1 --no-store --format json -q
if [ "$PALISADE_ONLY" = 0 ]; then
  measure prowler "$PROWLER_VENV/bin/prowler" aws --region us-east-1 \
    --service iam s3 ec2 vpc cloudtrail kms rds awslambda elbv2 guardduty config securityhub eks secretsmanager sns sqs \
    --output-formats json-ocsf --output-directory "$WORK/prowler" --output-filename report --no-banner
fi

"$PALISADE_BIN" rules list --format json > "$WORK/rules.json"
echo "== planted problems found"
"$VENV/bin/python" - "$WORK" "$PALISADE_ONLY" <<'PY'
import json, os, subprocess, sys
work, palisade_only = sys.argv[1], sys.argv[2] == "1"
seed = json.load(open(f"{work}/seed.json"))
report = json.load(open(f"{work}/palisade.out"))
rules = {r["id"]: [p["id"] for p in r.get("peers", []) if p["tool"] == "prowler"] for r in json.load(open(f"{work}/rules.json"))}
ids = [v for k, v in seed.items() if k.startswith("bad_")]
def planted(resource):
    return "bad-" in resource or any(resource.endswith(i) for i in ids)
problems = sorted({(f["rule_id"], f["resource"]["id"]) for f in report["findings"] if planted(f["resource"]["id"])})
print(f"planted problems (palisade's findings on bad-* resources): {len(problems)}")
print(f"palisade found {len(problems)}/{len(problems)}")
if palisade_only:
    sys.exit(0)
fails = []
for root, _, files in os.walk(f"{work}/prowler"):
    for name in files:
        if name.endswith(".ocsf.json"):
            for item in json.load(open(os.path.join(root, name))):
                if item.get("status_code") == "FAIL":
                    check = item.get("metadata", {}).get("event_code", "")
                    uids = " ".join(str(r.get("uid", "")) + " " + str(r.get("name", "")) for r in item.get("resources", []))
                    fails.append((check, uids))
found = [p for p in problems if any(c in rules.get(p[0], []) and p[1].split("/")[-1].split(":")[-1] in u for c, u in fails)]
print(f"prowler found {len(found)}/{len(problems)} (FAIL results in all: {len(fails)})")
for rule, resource in problems:
    if (rule, resource) not in found:
        print(f"  prowler missed: {rule} {resource}")
PY
