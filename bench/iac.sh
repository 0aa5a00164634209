#!/usr/bin/env bash
# Compare `palisade scan iac` with Checkov on one generated corpus, in one run.
#
#   bash bench/iac.sh                        # 10,000 files; Checkov on a 5,000-file sample (~15 min)
#   bash bench/iac.sh 20000 --palisade-only  # 20,000 files, palisade only
#   bash bench/iac.sh 10000 --checkov-sample 2000   # quicker: Checkov on 2,000 files (~2 min)
#   bash bench/iac.sh 10000 --checkov-sample 0      # Checkov on the whole corpus (see below)
#
# Checkov does not finish the whole 10,000-file corpus in reasonable time on a
# 2-core machine (still running after 46 min, 38 CPU-min and 16 GB RSS), and its
# cost per file grows with the corpus, so by default it runs on a deterministic
# sample of whole units (--checkov-sample M, default 5000 when N > 5000), palisade
# is timed on that sample too, and Checkov's figures are also extrapolated
# linearly per file to N: a lower bound on its real cost.
#
# Builds palisade (release), generates bench/corpus-N once (bench/gen_corpus.py,
# deterministic), installs Checkov into bench/.venv once, then times each tool
# with /usr/bin/time: wall, user+sys CPU and peak RSS. palisade runs twice and
# the second (warm page cache) run is reported; Checkov runs once, after
# palisade, so its page cache is warm too. Both write their JSON report to a
# scratch file so the findings can be counted.
set -euo pipefail
cd "$(dirname "$0")/.."

CHECKOV_VERSION=3.3.30
N=10000
PALISADE_ONLY=0
SAMPLE=default
while [ $# -gt 0 ]; do
  case "$1" in
    --palisade-only) PALISADE_ONLY=1 ;;
    --checkov-sample) SAMPLE="${2:?--checkov-sample needs a file count}"; shift ;;
    --checkov-sample=*) SAMPLE="${1#*=}" ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    [0-9]*) N="$1" ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$SAMPLE" = default ]; then
  if [ "$N" -gt 5000 ]; then SAMPLE=5000; else SAMPLE=0; fi
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/palisade-target}"
[ -x /usr/bin/time ] || { echo "/usr/bin/time is required (apt-get install time)" >&2; exit 2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/palisade-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
export PALISADE_HOME="$WORK/home"   # --no-store anyway; keep ~/.local untouched

echo "== machine"
echo "cores:   $(nproc)"
echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "memory:  $(free -h | awk '/^Mem:/ {print $2}')"
echo "load:    $(uptime | sed 's/.*load average: //')"
if REV=$(git rev-parse --short HEAD 2>/dev/null); then
  git diff --quiet HEAD -- crates Cargo.toml Cargo.lock || REV="$REV (with uncommitted changes under crates/)"
else
  REV="unknown (not a git checkout)"
fi
echo "rev:     $REV"

echo "== build"
cargo build --release -p palisade
PALISADE="$CARGO_TARGET_DIR/release/palisade"
echo "palisade: $("$PALISADE" --version)"

echo "== corpus"
CORPUS="bench/corpus-$N"
if [ ! -d "$CORPUS" ]; then
  rm -rf "$CORPUS.tmp"
  python3 bench/gen_corpus.py "$CORPUS.tmp" --files "$N"
  mv "$CORPUS.tmp" "$CORPUS"   # the directory exists only once complete
fi
FILES=$(find "$CORPUS" -type f | wc -l)
echo "$CORPUS: $FILES files, $(du -sh "$CORPUS" | cut -f1)"

CK_CORPUS="$CORPUS"
CK_FILES=$FILES
if [ "$PALISADE_ONLY" = 0 ]; then
  echo "== checkov"
  VENV=bench/.venv
  if [ "$("$VENV/bin/checkov" --version 2>/dev/null)" != "$CHECKOV_VERSION" ]; then
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
  fi
  echo "checkov: $("$VENV/bin/checkov" --version)"
  if [ "$SAMPLE" -gt 0 ] && [ "$SAMPLE" -lt "$FILES" ]; then
    CK_CORPUS="bench/corpus-$N-sample-$SAMPLE"
    if [ ! -d "$CK_CORPUS" ]; then
      rm -rf "$CK_CORPUS.tmp"
      python3 bench/gen_corpus.py "$CK_CORPUS.tmp" --subset-of "$CORPUS" --files "$SAMPLE"
      mv "$CK_CORPUS.tmp" "$CK_CORPUS"
    fi
    CK_FILES=$(find "$CK_CORPUS" -type f | wc -l)
    echo "Checkov runs on $CK_CORPUS ($CK_FILES files); its figures are EXTRAPOLATED per file to $FILES files"
  fi
fi

# run NAME OUTFILE CMD...: time CMD, stdout to OUTFILE, stderr to $WORK/NAME.err.
# Exit 0 (clean) and 1 (findings) are success; anything else stops the benchmark.
run() {
  local name="$1" out="$2"; shift 2
  local rc=0
  /usr/bin/time -f '%e %U %S %M' -o "$WORK/$name.time" "$@" > "$out" 2> "$WORK/$name.err" || rc=$?
  echo "$rc" > "$WORK/$name.rc"
  if [ "$rc" -gt 1 ]; then
    echo "ERROR: $name exited $rc" >&2
    tail -n 30 "$WORK/$name.err" >&2
    cat "$WORK/$name.time" >&2 || true
    exit 1
  fi
  echo "$name: exit $rc, $(tail -n 1 "$WORK/$name.time" | awk '{printf "%.2f s wall, %.2f s CPU, %.0f MB peak", $1, $2+$3, $4/1024}')"
}

echo "== runs (load: $(uptime | sed 's/.*load average: //'))"
run palisade-1 /dev/null "$PALISADE" scan iac "$CORPUS" --no-store --format json -o "$WORK/palisade.json"
run palisade-2 /dev/null "$PALISADE" scan iac "$CORPUS" --no-store --format json -o "$WORK/palisade.json"
if [ "$CK_CORPUS" != "$CORPUS" ]; then
  # the same sample Checkov scans, for an exact same-files comparison
  run palisade-sample-1 /dev/null "$PALISADE" scan iac "$CK_CORPUS" --no-store --format json -o "$WORK/palisade-sample.json"
  run palisade-sample-2 /dev/null "$PALISADE" scan iac "$CK_CORPUS" --no-store --format json -o "$WORK/palisade-sample.json"
fi
if [ "$PALISADE_ONLY" = 0 ]; then
  run checkov "$WORK/checkov.json" "$VENV/bin/checkov" -d "$CK_CORPUS" \
    --framework terraform cloudformation kubernetes -o json --quiet --compact --skip-download
fi
echo "load after: $(uptime | sed 's/.*load average: //')"

echo "== results"
python3 - "$WORK" "$FILES" "$CK_FILES" "$PALISADE_ONLY" <<'EOF'
import json, os, sys

work, files, ck_files, palisade_only = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"

def timing(name):
    wall, user, sys_, rss = open(os.path.join(work, name + ".time")).read().split()[-4:]
    return float(wall), float(user) + float(sys_), int(rss) / 1024

def palisade_counts(name="palisade"):
    d = json.load(open(os.path.join(work, name + ".json")))
    return len(d["findings"]), len(d.get("errors", []))

def checkov_counts():
    d = json.load(open(os.path.join(work, "checkov.json")))
    reports = d if isinstance(d, list) else [d]
    failed = sum(len(r.get("results", {}).get("failed_checks", [])) for r in reports)
    errors = sum(r.get("summary", {}).get("parsing_errors", 0) for r in reports)
    return failed, errors

rows = []
pw, pc, pm = timing("palisade-2")
pf, pe = palisade_counts()
rows.append(("palisade (2nd run)", files, pw, pc, pm, pf, pe))
extrapolated = False
if not palisade_only:
    cw, cc, cm = timing("checkov")
    cf, ce = checkov_counts()
    if ck_files != files:
        sw, sc, sm = timing("palisade-sample-2")
        sf, se = palisade_counts("palisade-sample")
        rows.append(("palisade, sample", ck_files, sw, sc, sm, sf, se))
    rows.append(("checkov" + (", sample" if ck_files != files else ""), ck_files, cw, cc, cm, cf, ce))
    if ck_files != files:
        extrapolated = True
        k = files / ck_files
        rows.append(("checkov, EXTRAPOLATED", files, cw * k, cc * k, float("nan"), round(cf * k), round(ce * k)))

hdr = ("tool", "files", "wall s", "CPU s", "peak MB", "CPU ms/file", "findings", "parse errors")
fmt = "%-22s %7s %9s %9s %8s %12s %9s %13s"
print(fmt % hdr)
for name, n, w, c, m, f, e in rows:
    print(fmt % (name, n, "%.2f" % w, "%.2f" % c, "-" if m != m else "%.0f" % m,
                 "%.3f" % (c * 1000 / n), f, e))
if extrapolated:
    print("(checkov ran on %d of the %d files; the EXTRAPOLATED row scales its time per file linearly,"
          " a lower bound: its cost per file grows with the corpus)" % (ck_files, files))
p1w, p1c, p1m = timing("palisade-1")
print("(palisade 1st run: %.2f s wall, %.2f s CPU, %.0f MB peak)" % (p1w, p1c, p1m))
print()
print("targets:")
if not palisade_only:
    cpu_ratio = (cc / ck_files) / (pc / files)
    wall_ratio = (cw / ck_files) / (pw / files)
    print("  CPU ratio checkov/palisade: %.0fx%s (target >= 300x): %s"
          % (cpu_ratio, " per file, extrapolated" if extrapolated else "", "met" if cpu_ratio >= 300 else "MISSED"))
    print("  wall ratio checkov/palisade: %.0fx%s" % (wall_ratio, " per file, extrapolated" if extrapolated else ""))
    if extrapolated:
        print("  on the same %d-file sample: CPU ratio %.0fx (target >= 300x): %s; wall ratio %.0fx"
              % (ck_files, cc / sc, "met" if cc / sc >= 300 else "MISSED", cw / sw))
if files >= 20000:
    print("  palisade wall for %d files: %.2f s (target < 10 s for 20,000 files): %s"
          % (files, pw, "met" if pw < 10 else "MISSED"))
else:
    print("  palisade wall for %d files: %.2f s (the < 10 s target is for 20,000 files: bash bench/iac.sh 20000 --palisade-only)"
          % (files, pw))
print("  palisade peak memory: %.0f MB (target < 500 MB): %s" % (pm, "met" if pm < 500 else "MISSED"))
EOF
