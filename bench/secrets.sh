#!/usr/bin/env bash
# Compare `palisade scan secrets` with detect-secrets on one generated working
# tree, and time palisade's git history scans, in one run.
#
#   bash bench/secrets.sh                      # 320 MiB tree, 5,000-commit history; detect-secrets on a 25% sample (~5-10 min)
#   bash bench/secrets.sh --ds-sample 0        # detect-secrets on the whole tree (~15 min idle, 30 min under load)
#   bash bench/secrets.sh --palisade-only      # palisade and grep only (~1 min once generated)
#   bash bench/secrets.sh --incremental-100k   # also a 100,000-commit history (generated once, ~5 min)
#   bash bench/secrets.sh --mb 64 --commits 2000   # smaller corpora
#
# detect-secrets needs about 28 CPU-minutes for the whole 338 MB tree, so by
# default it runs on a deterministic 25% sample of the files (--ds-sample P,
# chosen by a hash of each path, the same mix of file types), palisade is timed
# on that sample too, and detect-secrets' times are also extrapolated per byte
# to the whole tree and labelled EXTRAPOLATED.
#
# Builds palisade (release), generates once (bench/gen_secrets_corpus.py,
# deterministic; each directory exists only once complete):
#   bench/secrets-corpus-<MB>mb/tree        source text with planted secrets and decoys,
#   bench/secrets-corpus-<MB>mb/labels.tsv  their path, line and kind;
#   bench/secrets-history-<N>/repo.git      a bare repository of N commits (git fast-import),
#   bench/secrets-history-<N>/labels.tsv    the commit, path and line of every planted secret;
# installs detect-secrets into bench/.venv-secrets once, then times every
# command with /usr/bin/time (wall, user+sys CPU, peak RSS of the largest
# process). palisade runs three times and the faster of the last two (warm
# page cache) is reported; grep -F over ~100 provider keywords too (the physical
# bound: reading the bytes and matching literals, one core); detect-secrets
# runs once, last, on a warm page cache, with its default 2 worker processes.
#
# Recall: a planted secret is found when the tool reports its file and line (a
# PEM block: any of its lines, or the line before, e.g. a YAML `key: |`).
# A reported (file, line) that holds no planted secret is a false positive.
#
# History: a full scan of the N-commit repository with --no-store (nothing
# remembered), then the incremental case: a scan that records the commits it
# read in a fresh PALISADE_HOME, 10 new commits (one with a new secret), and
# the rescan, which reads only those.
set -euo pipefail
cd "$(dirname "$0")/.."

DETECT_SECRETS_VERSION=1.5.0
MB=320
COMMITS=5000
PALISADE_ONLY=0
DS_SAMPLE=25
BIG=0
BIG_COMMITS="${SECRETS_BENCH_BIG_COMMITS:-100000}"   # override only to test the script
while [ $# -gt 0 ]; do
  case "$1" in
    --palisade-only) PALISADE_ONLY=1 ;;
    --ds-sample) DS_SAMPLE="${2:?--ds-sample needs a percentage}"; shift ;;
    --ds-sample=*) DS_SAMPLE="${1#*=}" ;;
    --mb) MB="${2:?--mb needs a size}"; shift ;;
    --mb=*) MB="${1#*=}" ;;
    --commits) COMMITS="${2:?--commits needs a count}"; shift ;;
    --commits=*) COMMITS="${1#*=}" ;;
    --incremental-100k) BIG=1 ;;
    -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/palisade-target}"
[ -x /usr/bin/time ] || { echo "/usr/bin/time is required (apt-get install time)" >&2; exit 2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/palisade-bench.XXXXXX")"
if [ -n "${KEEP_SCRATCH:-}" ]; then   # keep the reports to look at them afterwards
  trap 'echo "scratch directory kept: $WORK"' EXIT
else
  trap 'rm -rf "$WORK"' EXIT
fi
export PALISADE_HOME="$WORK/home"   # --no-store runs need only the hash key; keep ~/.local untouched

echo "== machine"
echo "cores:   $(nproc)"
echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "memory:  $(free -h | awk '/^Mem:/ {print $2}')"
echo "load:    $(uptime | sed 's/.*load average: //')"
if REV=$(git rev-parse --short HEAD 2>/dev/null); then
  if ! git diff --quiet HEAD -- crates Cargo.toml Cargo.lock || [ -n "$(git ls-files --others --exclude-standard -- crates)" ]; then
    REV="$REV (with uncommitted changes under crates/)"
  fi
else
  REV="unknown (not a git checkout)"
fi
echo "rev:     $REV"
echo "git:     $(git --version)"

echo "== build"
cargo build --release -p palisade
# A private copy: the target directory is shared, and a rebuild during the run must not change the binary.
PALISADE="$WORK/palisade"
cp "$CARGO_TARGET_DIR/release/palisade" "$PALISADE"
RULES_FILE=crates/secrets/rules/builtin.toml
echo "palisade: $("$PALISADE" --version), $("$PALISADE" rules list | grep -c '^secret\.') built-in secret rules ($RULES_FILE sha256 $(sha256sum "$RULES_FILE" | cut -c1-12))"

# gen DIR ARGS...: run the generator into DIR.tmp, then rename: DIR exists only once complete.
gen() {
  local dir="$1"; shift
  if [ ! -d "$dir" ]; then
    rm -rf "$dir.tmp"
    python3 bench/gen_secrets_corpus.py "$@" "$dir.tmp"
    mv "$dir.tmp" "$dir"
  fi
}

echo "== corpus"
CORPUS="bench/secrets-corpus-${MB}mb"
gen "$CORPUS" tree --mb "$MB"
TREE="$CORPUS/tree"
tree_stats() { find "$1" -type f -printf '%s\n' | awk '{n++; s+=$1} END {printf "%d %d\n", n, s}'; }
read -r FILES BYTES < <(tree_stats "$TREE")
echo "$TREE: $FILES files, $(awk -v b="$BYTES" 'BEGIN {printf "%.1f MB", b/1e6}'), $(awk -F'\t' '$4 == "secret"' "$CORPUS/labels.tsv" | wc -l) planted secrets, $(awk -F'\t' '$4 == "decoy"' "$CORPUS/labels.tsv" | wc -l) decoys"

HISTORY="bench/secrets-history-$COMMITS"
gen "$HISTORY" history --commits "$COMMITS"
echo "$HISTORY/repo.git: $(git -C "$HISTORY/repo.git" rev-list --all --count) commits, $(git -C "$HISTORY/repo.git" for-each-ref | wc -l) refs, $(du -sh "$HISTORY/repo.git" | cut -f1)"
if [ "$BIG" = 1 ]; then
  BIG_HISTORY="bench/secrets-history-$BIG_COMMITS"
  gen "$BIG_HISTORY" history --commits "$BIG_COMMITS"
  echo "$BIG_HISTORY/repo.git: $(git -C "$BIG_HISTORY/repo.git" rev-list --all --count) commits, $(du -sh "$BIG_HISTORY/repo.git" | cut -f1)"
fi

DS_TREE="$TREE"
DS_LABELS="$CORPUS/labels.tsv"
DS_FILES=$FILES
DS_BYTES=$BYTES
if [ "$PALISADE_ONLY" = 0 ]; then
  echo "== detect-secrets"
  VENV=bench/.venv-secrets
  if [ "$("$VENV/bin/detect-secrets" --version 2>/dev/null)" != "$DETECT_SECRETS_VERSION" ]; then
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "detect-secrets==$DETECT_SECRETS_VERSION"
  fi
  echo "detect-secrets: $("$VENV/bin/detect-secrets" --version), $("$VENV/bin/python" --version)"
  if [ "$DS_SAMPLE" != 0 ]; then
    SAMPLE_DIR="$CORPUS-sample-$DS_SAMPLE"
    gen "$SAMPLE_DIR" sample --of "$CORPUS" --percent "$DS_SAMPLE"
    DS_TREE="$SAMPLE_DIR/tree"
    DS_LABELS="$SAMPLE_DIR/labels.tsv"
    read -r DS_FILES DS_BYTES < <(tree_stats "$DS_TREE")
    echo "detect-secrets runs on $DS_TREE ($DS_FILES files, $(awk -v b="$DS_BYTES" 'BEGIN {printf "%.1f MB", b/1e6}')); its times are EXTRAPOLATED per byte to the whole tree"
  fi
fi

# ~100 lowercase keywords of provider token formats and secret-looking names,
# for the grep bound (case-insensitive literal search, as palisade's prefilter).
cat > "$WORK/keywords" <<'EOF'
akia
asia
abia
acca
a3t
ghp_
gho_
ghu_
ghs_
ghr_
github_pat_
glpat-
gldt-
glrt-
glptt-
glsoat-
xoxb-
xoxp-
xoxa-
xoxe-
xoxr-
xoxs-
xapp-
hooks.slack.com
sk_live_
rk_live_
sk_test_
whsec_
sg.
npm_
pypi-
aiza
ya29.
sk-proj-
sk-ant-
t3blbkfj
hf_
-----begin
private key
accountkey=
sharedaccesskey
dop_v1_
doo_v1_
shpat_
shpss_
shppa_
sq0atp-
sq0csp-
eaaa
sk_
pk_live_
lin_api_
ntn_
secret_
atlassian
dapi
glc_
hvs.
hvb.
vault
xkeysib-
key-
mailgun
twilio
sendgrid
heroku
okta
datadog
newrelic
nrak-
sentry
pagerduty
postgres://
postgresql://
mysql://
mongodb+srv://
mongodb://
redis://
amqp://
password
passwd
pwd
secret
token
api_key
apikey
api-key
access_key
accesskey
client_secret
credential
auth
bearer
private_key
privatekey
jwt
eyj
session_key
signing_key
encryption_key
EOF

# run NAME OUTFILE CMD...: time CMD, stdout to OUTFILE, stderr to $WORK/NAME.err.
# Exit 0 and 1 (findings, or no grep match) are success; anything else stops the benchmark.
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
run grep-1 /dev/null grep -F -i -c -r -f "$WORK/keywords" "$TREE"
run grep-2 /dev/null grep -F -i -c -r -f "$WORK/keywords" "$TREE"
run grep-3 /dev/null grep -F -i -c -r -f "$WORK/keywords" "$TREE"
# --no-ignore: scan exactly the files detect-secrets --all-files walks (bench/.gitignore lists the corpus)
run palisade-1 /dev/null "$PALISADE" scan secrets "$TREE" --no-ignore --no-store --format json -o "$WORK/palisade.json"
run palisade-2 /dev/null "$PALISADE" scan secrets "$TREE" --no-ignore --no-store --format json -o "$WORK/palisade.json"
run palisade-3 /dev/null "$PALISADE" scan secrets "$TREE" --no-ignore --no-store --format json -o "$WORK/palisade.json"
if [ "$DS_TREE" != "$TREE" ]; then
  run palisade-sample-1 /dev/null "$PALISADE" scan secrets "$DS_TREE" --no-ignore --no-store --format json -o "$WORK/palisade-sample.json"
  run palisade-sample-2 /dev/null "$PALISADE" scan secrets "$DS_TREE" --no-ignore --no-store --format json -o "$WORK/palisade-sample.json"
  run palisade-sample-3 /dev/null "$PALISADE" scan secrets "$DS_TREE" --no-ignore --no-store --format json -o "$WORK/palisade-sample.json"
fi

# history: full scans, nothing stored
run history-1 /dev/null "$PALISADE" -v scan secrets --history "$HISTORY/repo.git" --no-store --format json -o "$WORK/history.json"
run history-2 /dev/null "$PALISADE" -v scan secrets --history "$HISTORY/repo.git" --no-store --format json -o "$WORK/history.json"

# incremental: NAME REPO_DIR. On a copy, so the generated repository stays as generated.
incremental() {
  local name="$1" src="$2"
  cp -a "$src/repo.git" "$WORK/$name.git"
  PALISADE_HOME="$WORK/home-$name" run "$name-full" /dev/null \
    "$PALISADE" -v scan secrets --history "$WORK/$name.git" --format json -o "$WORK/$name-full.json"
  python3 bench/gen_secrets_corpus.py append "$WORK/$name.git" --commits 10 --labels "$WORK/$name-new.tsv" > /dev/null
  PALISADE_HOME="$WORK/home-$name" run "$name-rescan" /dev/null \
    "$PALISADE" -v scan secrets --history "$WORK/$name.git" --format json -o "$WORK/$name-rescan.json"
}
incremental incremental "$HISTORY"
if [ "$BIG" = 1 ]; then
  incremental incremental-big "$BIG_HISTORY"
fi

if [ "$PALISADE_ONLY" = 0 ]; then
  # detect-secrets reports paths relative to its working directory: run it from the tree
  run detect-secrets "$WORK/detect-secrets.json" \
    bash -c 'cd "$1" && exec "$2" scan --all-files .' _ "$DS_TREE" "$PWD/$VENV/bin/detect-secrets"
fi
echo "load after: $(uptime | sed 's/.*load average: //')"

echo "== results"
python3 - "$WORK" "$TREE" "$CORPUS/labels.tsv" "$FILES" "$BYTES" "$DS_TREE" "$DS_LABELS" "$DS_FILES" "$DS_BYTES" \
  "$PALISADE_ONLY" "$HISTORY" "$COMMITS" "$BIG" "$BIG_COMMITS" <<'EOF'
import collections, json, os, re, sys

(work, tree, labels_path, files, nbytes, ds_tree, ds_labels, ds_files, ds_bytes,
 palisade_only, history, commits, big, big_commits) = sys.argv[1:]
files, nbytes, ds_files, ds_bytes = int(files), int(nbytes), int(ds_files), int(ds_bytes)
palisade_only, big, commits, big_commits = palisade_only == "1", big == "1", int(commits), int(big_commits)
sampled = ds_tree != tree
MB = 1e6

def timing(name):
    wall, user, sys_, rss = open(os.path.join(work, name + ".time")).read().split()[-4:]
    return float(wall), float(user) + float(sys_), int(rss) / 1024

def warm(name):
    """The faster of the two warm-cache runs (the first run warms the cache)."""
    return min(timing(name + "-2"), timing(name + "-3"))

def read_tsv(path):
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        return [dict(zip(header, line.rstrip("\n").split("\t"))) for line in f]

def tree_labels(path):
    """secrets: (path, line) -> kind; decoys: every line a decoy may be
    reported on -> kind. A PEM block may be reported on any of its lines or
    the line before (a YAML `key: |`, a heredoc start)."""
    secrets, decoys = {}, {}
    for row in read_tsv(path):
        line, end = int(row["line"]), int(row["end_line"])
        if row["label"] == "secret":
            secrets[(row["path"], line)] = row["kind"]
        else:
            for l in (range(line - 1, end + 1) if end > line else [line]):
                decoys[(row["path"], l)] = row["kind"]
    return secrets, decoys

def windows(secrets, labels_path):
    """Every line a planted secret may be reported on -> its (path, line)."""
    out = {}
    for row in read_tsv(labels_path):
        if row["label"] == "secret":
            line, end = int(row["line"]), int(row["end_line"])
            for l in (range(line - 1, end + 1) if end > line else [line]):
                out.setdefault((row["path"], l), (row["path"], line))
    return out

def palisade_lines(name, with_commit=False):
    d = json.load(open(os.path.join(work, name + ".json")))
    out = {}
    for f in d["findings"]:
        for loc in [f["location"]] + f.get("other_locations", []):
            key = (loc["path"], loc["start_line"])
            if with_commit:
                key = (loc.get("commit"),) + key
            out[key] = f["rule_id"]
    return out, d

def ds_lines():
    d = json.load(open(os.path.join(work, "detect-secrets.json")))
    out = {}
    for path, items in d["results"].items():
        path = path[2:] if path.startswith("./") else path
        for item in items:
            out[(path, item["line_number"])] = item["type"]
    return out

LOCKFILES = ("package-lock.json", "yarn.lock", "pnpm-lock.yaml", "go.sum", "Cargo.lock")

def category(key, decoys):
    """A decoy's kind, else `other` and the kind of file."""
    if key in decoys:
        return decoys[key]
    base = os.path.basename(key[0])
    if base in LOCKFILES:
        return "other " + base
    if base.endswith(".min.js"):
        return "other *.min.js"
    return "other *." + base.rsplit(".", 1)[-1]

def score(reported, secrets, decoys, win):
    found = {win[k] for k in reported if k in win}
    fps = [k for k in reported if k not in win]
    by_decoy = collections.Counter(category(k, decoys) for k in fps)
    precision = (len(reported) - len(fps)) / len(reported) if reported else float("nan")
    return found, fps, by_decoy, precision

def line_of(root, key):
    try:
        with open(os.path.join(root, key[0]), errors="replace") as f:
            for i, line in enumerate(f, 1):
                if i == key[1]:
                    line = line.strip()
                    return line if len(line) <= 110 else line[:107] + "..."
    except OSError:
        pass
    return "?"

secrets, decoys = tree_labels(labels_path)
ds_secrets, ds_decoys = tree_labels(ds_labels)
win, ds_win = windows(secrets, labels_path), windows(ds_secrets, ds_labels)

pw, pc, pm = warm("palisade")
p_rep, p_doc = palisade_lines("palisade")
p_found, p_fps, p_by, p_prec = score(p_rep, secrets, decoys, win)
rows = [("palisade (best warm run)", files, nbytes, pw, pc, pm, len(p_found), len(secrets), p_prec, len(p_fps))]
if not palisade_only:
    cw, cc, cm = timing("detect-secrets")
    d_rep = ds_lines()
    d_found, d_fps, d_by, d_prec = score(d_rep, ds_secrets, ds_decoys, ds_win)
    if sampled:
        sw, sc, sm = warm("palisade-sample")
        s_rep, _ = palisade_lines("palisade-sample")
        s_found, s_fps, s_by, s_prec = score(s_rep, ds_secrets, ds_decoys, ds_win)
        rows.append(("palisade, sample", ds_files, ds_bytes, sw, sc, sm, len(s_found), len(ds_secrets), s_prec, len(s_fps)))
    rows.append(("detect-secrets" + (", sample" if sampled else ""), ds_files, ds_bytes, cw, cc, cm,
                 len(d_found), len(ds_secrets), d_prec, len(d_fps)))
    if sampled:
        k = nbytes / ds_bytes
        rows.append(("detect-secrets, EXTRAPOLATED", files, nbytes, cw * k, cc * k, float("nan"), None, None, None, None))
gw, gc, gm = warm("grep")
rows.append(("grep -F -i (bound)", files, nbytes, gw, gc, gm, None, None, None, None))

fmt = "%-30s %6s %7s %8s %8s %8s %7s %12s %9s %6s"
print(fmt % ("tool", "files", "MB", "wall s", "CPU s", "peak MB", "MB/s", "recall", "precision", "FPs"))
for name, n, b, w, c, m, found, planted, prec, fps in rows:
    print(fmt % (name, n, "%.0f" % (b / MB), "%.2f" % w, "%.2f" % c, "-" if m != m else "%.0f" % m,
                 "%.0f" % (b / MB / w),
                 "-" if found is None else "%d/%d %.0f%%" % (found, planted, 100 * found / planted),
                 "-" if prec is None else "%.1f%%" % (100 * prec), "-" if fps is None else fps))
p1w, p1c, p1m = timing("palisade-1")
print("(palisade 1st run: %.2f s wall, %.2f s CPU, %.0f MB peak; grep 1st run %.2f s)" % (p1w, p1c, p1m, timing("grep-1")[0]))
print("(recall: planted secrets whose file and line the tool reports; FPs: reported lines holding no planted secret;"
      " MB = 10^6 bytes; peak MB: the largest single process)")
if sampled:
    print("(detect-secrets ran on %d of the %d files, %.0f of %.0f MB; the EXTRAPOLATED row scales its time per byte)"
          % (ds_files, files, ds_bytes / MB, nbytes / MB))

# recall by kind
kinds = sorted(set(secrets.values()))
print()
print("recall by kind%s:" % (" (detect-secrets and palisade on the same sample)" if sampled else ""))
fmt2 = "  %-26s %8s %10s %16s"
print(fmt2 % ("kind", "planted", "palisade", "detect-secrets"))
cmp_found = s_found if (not palisade_only and sampled) else p_found
for kind in kinds:
    planted = [k for k, v in ds_secrets.items() if v == kind] if sampled else [k for k, v in secrets.items() if v == kind]
    pf = sum(1 for k in planted if k in cmp_found)
    df = "-" if palisade_only else str(sum(1 for k in planted if k in d_found))
    print(fmt2 % (kind, len(planted), pf, df))

def fp_report(name, by, fps, rep, root):
    print("  %s: %d false positive lines: %s" % (name, len(fps), ", ".join("%s %d" % kv for kv in by.most_common()) or "none"))
    shown = collections.Counter()
    for k in sorted(fps):
        cat = category(k, decoys)
        if shown[cat] >= 2:
            continue
        shown[cat] += 1
        print("      [%s] %s:%d (%s) %s" % (cat, k[0], k[1], rep[k], line_of(root, k)))

print()
print("false positives (with examples):")
if not palisade_only and sampled:
    fp_report("palisade, sample", s_by, s_fps, s_rep, ds_tree)
else:
    fp_report("palisade", p_by, p_fps, p_rep, tree)
if not palisade_only:
    fp_report("detect-secrets" + (", sample" if sampled else ""), d_by, d_fps, d_rep, ds_tree)

print()
print("missed by palisade (examples):")
shown = collections.Counter()
for k in sorted(secrets):
    if k not in p_found and shown[secrets[k]] < 2:
        shown[secrets[k]] += 1
        print("  [%s] %s:%d %s" % (secrets[k], k[0], k[1], line_of(tree, k)))

# history
print()
print("history:")
h_rows = []
def history_score(name, labels):
    rep, doc = palisade_lines(name, with_commit=True)
    sec = {(r["commit"], r["path"], int(r["line"])): r for r in labels if r["label"] == "secret"}
    found = [k for k in sec if k in rep]
    fps = [k for k in rep if k not in sec]
    # present at HEAD, as palisade tells it, against the generator's truth
    wrong_head = 0
    for f in doc["findings"]:
        loc = f["location"]
        key = (loc.get("commit"), loc["path"], loc["start_line"])
        truth = sec.get(key)
        got = (f.get("details") or {}).get("present_at_head")
        if truth is not None and got is not None and got != (truth["at_head"] == "yes"):
            wrong_head += 1
    return found, sec, fps, wrong_head

def commits_read(name):
    m = re.findall(r"history scanned commits=(\d+)", open(os.path.join(work, name + ".err")).read())
    return int(m[-1]) if m else -1

h_labels = read_tsv(os.path.join(history, "labels.tsv"))
found, sec, fps, wrong = history_score("history", h_labels)
fmt3 = "  %-40s %9s %8s %8s %8s %14s %5s"
print(fmt3 % ("run", "commits", "wall s", "CPU s", "peak MB", "recall", "FPs"))
hw, hc, hm = timing("history-2")
print(fmt3 % ("full, --no-store (2nd run)", commits_read("history-2"), "%.2f" % hw, "%.2f" % hc, "%.0f" % hm,
              "%d/%d %.0f%%" % (len(found), len(sec), 100 * len(found) / len(sec)), len(fps)))
incr = [("incremental", commits)] + ([("incremental-big", big_commits)] if big else [])
results = {}
for name, n in incr:
    fw, fc, fm = timing(name + "-full")
    print(fmt3 % ("%d commits: first scan, stored" % n, commits_read(name + "-full"), "%.2f" % fw, "%.2f" % fc, "%.0f" % fm, "", ""))
    rw, rc, rm = timing(name + "-rescan")
    new = read_tsv(os.path.join(work, name + "-new.tsv"))
    nf, nsec, nfps, _ = history_score(name + "-rescan", new)
    print(fmt3 % ("%d commits: rescan after 10 new commits" % n, commits_read(name + "-rescan"), "%.2f" % rw, "%.2f" % rc,
                  "%.0f" % rm, "%d/%d new" % (len(nf), len(nsec)), len(nfps)))
    results[name] = (rw, commits_read(name + "-rescan"))
h1w = timing("history-1")[0]
print("  (full scan 1st run: %.2f s wall; findings whose present-at-HEAD flag is wrong: %d)" % (h1w, wrong))
missed = collections.Counter(sec[k]["kind"] for k in sec if k not in set(found))
print("  missed in history by kind: %s" % (", ".join("%s %d" % kv for kv in missed.most_common()) or "none"))

print()
print("targets:")
if not palisade_only:
    ratio = (cc / ds_bytes) / (pc / nbytes)
    wall_ratio = (cw / ds_bytes) / (pw / nbytes)
    print("  CPU ratio detect-secrets/palisade: %.0fx%s (target >= 300x): %s"
          % (ratio, " per byte, extrapolated" if sampled else "", "met" if ratio >= 300 else "MISSED"))
    if sampled:
        print("  on the same sample: CPU ratio %.0fx (target >= 300x): %s" % (cc / sc, "met" if cc / sc >= 300 else "MISSED"))
    print("  wall ratio detect-secrets/palisade: %.0fx%s" % (wall_ratio, " per byte, extrapolated" if sampled else ""))
    pr = len(s_found if sampled else p_found)
    pf = len(s_fps if sampled else p_fps)
    print("  recall palisade %d vs detect-secrets %d of %d planted (target: higher): %s"
          % (pr, len(d_found), len(ds_secrets), "met" if pr > len(d_found) else "MISSED"))
    outside = lambda fps: sum(1 for k in fps if not category(k, decoys).startswith(tuple("other " + l for l in LOCKFILES)))
    print("  false positives palisade %d vs detect-secrets %d (%d and %d outside lockfiles) (target: fewer): %s"
          % (pf, len(d_fps), outside(s_fps if sampled else p_fps), outside(d_fps), "met" if pf < len(d_fps) else "MISSED"))
mbps = nbytes / MB / pw
print("  working-tree throughput: %.0f MB/s on %d cores, warm (target >= 500 MB/s; grep -F -i bound %.0f MB/s on one core): %s"
      % (mbps, os.cpu_count(), nbytes / MB / gw, "met" if mbps >= 500 else "MISSED"))
hist_ok = hw < 5 and commits >= 5000
print("  history scan of %d commits: %.2f s (target < 5 s for 5,000 commits): %s"
      % (commits, hw, ("met" if hist_ok else "MISSED") if commits >= 5000 else "n/a (fewer than 5,000 commits)"))
if big:
    rw, n = results["incremental-big"]
    print("  rescan of a %d-commit repository after 10 new commits: %.2f s, %d commits read (target well under 1 s): %s"
          % (big_commits, rw, n, "met" if rw < 1 else "MISSED"))
else:
    rw, n = results["incremental"]
    print("  rescan after 10 new commits: %.2f s on %d commits (the 100,000-commit target: --incremental-100k)" % (rw, commits))
EOF
