#!/usr/bin/env bash
# Dependency scanning benchmark: OSV import, scan and SBOM generation on a
# synthetic monorepo, and cdxgen on the same monorepo for SBOM generation.
#
#   bash bench/deps.sh                  # 60 lockfiles, 20,000 entries, 200,000 OSV records
#   bash bench/deps.sh --no-cdxgen      # palisade only
#   RECORDS=20000 bash bench/deps.sh    # smaller database (also LOCKFILES, PACKAGES)
#   PALISADE_BIN=path/to/palisade bash bench/deps.sh   # time a given (release) binary
#
# Builds palisade (release), generates the corpus once (bench/gen_deps_corpus.py,
# deterministic) under bench/deps-corpus-<PACKAGES>-<RECORDS>/, installs
# @cyclonedx/cdxgen (npm) into ~/.cache/palisade-cdxgen once, and times every
# command with /usr/bin/time (wall, CPU user+sys, peak RSS). Scans and SBOM
# runs are timed three times (cold, then twice warm); the last is reported.
#
# - import: all per-ecosystem all.zip exports into a fresh database, then
#   again (the incremental case: every record unchanged);
# - scan: `scan deps` of the monorepo, recording into the database;
# - sbom: `palisade sbom` and `cdxgen --no-install-deps` (lockfiles only, no
#   package manager runs) of the monorepo; the ratio of their wall times and
#   the agreement of their package sets (purls without qualifiers).
set -euo pipefail
cd "$(dirname "$0")/.."

CDXGEN_VERSION=12.8.4
LOCKFILES="${LOCKFILES:-60}"
PACKAGES="${PACKAGES:-20000}"
RECORDS="${RECORDS:-200000}"
CDXGEN=1
while [ $# -gt 0 ]; do
  case "$1" in
    --no-cdxgen) CDXGEN=0 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
[ -x /usr/bin/time ] || { echo "/usr/bin/time is required (apt-get install time)" >&2; exit 2; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/palisade-target}"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GB; load: $(uptime | sed 's/.*load average: //')"
if [ -n "${PALISADE_BIN:-}" ]; then
  PALISADE="$PALISADE_BIN"
else
  cargo build --release -q -p palisade
  PALISADE="$CARGO_TARGET_DIR/release/palisade"
fi

CORPUS="bench/deps-corpus-$PACKAGES-$RECORDS"
if [ ! -f "$CORPUS/expected.txt" ]; then
  rm -rf "$CORPUS.tmp"
  LOCKFILES="$LOCKFILES" PACKAGES="$PACKAGES" RECORDS="$RECORDS" python3 bench/gen_deps_corpus.py "$CORPUS.tmp"
  rm -rf "$CORPUS" && mv "$CORPUS.tmp" "$CORPUS"
fi
REPO="$CORPUS/monorepo"
echo "corpus:  $(find "$REPO" -type f | wc -l) lockfiles, $(wc -l < "$CORPUS/expected.txt") distinct packages, $RECORDS OSV records ($(du -sh "$CORPUS/osv" | cut -f1) of all.zip)"

SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
export PALISADE_HOME="$SCRATCH/home"

# measure NAME CMD...: runs CMD, prints wall seconds, CPU seconds (user +
# sys: the fairer figure on a shared machine) and peak RSS (MB).
measure() {
  local name="$1"; shift
  /usr/bin/time -f "%e %M %U %S" -o "$SCRATCH/time" "$@" > "$SCRATCH/$name.out" 2> "$SCRATCH/$name.err" || {
    local rc=$?
    # scan deps exits 1 when findings reach --fail-on; anything else is a failure.
    [ "$rc" -eq 1 ] || { echo "$name failed ($rc):"; tail -5 "$SCRATCH/$name.err"; exit 1; }
  }
  read -r wall rss user sys < <(tail -1 "$SCRATCH/time")
  printf '%-28s %8.2f s wall %8.2f s CPU %8.0f MB\n' "$name" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')" "$((rss / 1024))"
  eval "WALL_${name//[^a-zA-Z0-9]/_}=$wall"
}

echo
echo "== palisade"
measure import "$PALISADE" vulndb import "$CORPUS"/osv/*/all.zip
grep -h '^imported' "$SCRATCH/import.out" | awk '{read += $3; new += $6} END {print "  records read: " read ", new: " new}'
measure import-again "$PALISADE" vulndb import "$CORPUS"/osv/*/all.zip
measure scan-cold "$PALISADE" scan deps "$REPO" --format json -o "$SCRATCH/report.json"
measure scan-warm "$PALISADE" scan deps "$REPO" --format json -o "$SCRATCH/report.json"
measure scan "$PALISADE" scan deps "$REPO" --format json -o "$SCRATCH/report.json"
measure scan-no-store "$PALISADE" scan deps "$REPO" --no-store --format json -o "$SCRATCH/report-no-store.json"
python3 - "$SCRATCH/report.json" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
print(f"  findings: {len(report['findings'])}, errors: {len(report.get('errors', []))}")
EOF
measure sbom-cold "$PALISADE" sbom "$REPO" -o "$SCRATCH/palisade.cdx.json"
measure sbom "$PALISADE" sbom "$REPO" -o "$SCRATCH/palisade.cdx.json"

if [ "$CDXGEN" = 1 ]; then
  CDX_DIR="$HOME/.cache/palisade-cdxgen"
  if [ ! -x "$CDX_DIR/node_modules/.bin/cdxgen" ]; then
    mkdir -p "$CDX_DIR"
    (cd "$CDX_DIR" && npm install --no-audit --no-fund --omit=optional "@cyclonedx/cdxgen@$CDXGEN_VERSION" >/dev/null)
  fi
  echo
  echo "== cdxgen $("$CDX_DIR/node_modules/.bin/cdxgen" --version 2>/dev/null | tail -1) (--no-install-deps: lockfiles only)"
  export CDXGEN_NO_BANNER=1 FETCH_LICENSE=false
  CDX=("$CDX_DIR/node_modules/.bin/cdxgen" --no-install-deps --no-babel --no-validate)
  measure cdxgen-cold "${CDX[@]}" -o "$SCRATCH/cdxgen.cdx.json" "$REPO"
  measure cdxgen "${CDX[@]}" -o "$SCRATCH/cdxgen.cdx.json" "$REPO"
  echo
  awk -v p="$WALL_sbom" -v c="$WALL_cdxgen" 'BEGIN {printf "sbom speed-up: %.1fx (palisade %.2f s, cdxgen %.2f s; target >= 20x)\n", c / p, p, c}'
  python3 - "$SCRATCH/palisade.cdx.json" "$SCRATCH/cdxgen.cdx.json" "$CORPUS/expected.txt" <<'EOF'
import collections, json, sys
def purls(path):
    bom = json.load(open(path))
    return {c["purl"].split("?")[0] for c in bom.get("components", []) if c.get("purl")}
palisade, cdxgen = purls(sys.argv[1]), purls(sys.argv[2])
expected = set(open(sys.argv[3]).read().split())
kind = lambda s: dict(collections.Counter(p.split("/")[0] for p in s))
print(f"packages: palisade {len(palisade)}, cdxgen {len(cdxgen)}, generated {len(expected)}")
print(f"  palisade finds {len(cdxgen & palisade)} of cdxgen's {len(cdxgen)}; cdxgen only: {sorted(cdxgen - palisade)[:5]}")
print(f"  palisade only: {len(palisade - cdxgen)} {kind(palisade - cdxgen)}")
print(f"  generated packages palisade misses: {len(expected - palisade)}; cdxgen misses: {len(expected - cdxgen)} {kind(expected - cdxgen)}")
EOF
fi
