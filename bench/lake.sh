#!/usr/bin/env bash
# The log lake benchmark: ingest throughput, and five typical queries timed
# in palisade (DataFusion) and in DuckDB on the same Parquet files, in one run.
#
#   bash bench/lake.sh                 # 5,000,000 events over 30 days
#   EVENTS=1000000 bash bench/lake.sh  # a smaller run
#   KEEP=1 bash bench/lake.sh          # keep the generated logs and lake (in $WORK)
#   PROFILE=bench-fast bash bench/lake.sh  # release without LTO: a much shorter build
#
# 1. `lakebench generate` (crates/lake/examples/lakebench.rs, release build)
#    writes realistic CloudTrail files in the layout CloudTrail delivers to S3
#    (`AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz`, one file per
#    account, region and hour, ~1.4 KB per record) with planted brute force,
#    AccessDenied and 0.0.0.0/0 rules; fixed seed.
# 2. `lakebench ingest` ingests them through the library call `palisade logs
#    ingest` makes (parallel parse, zstd Parquet, `source=cloudtrail/dt=...`)
#    and prints events/s and MB/s (compressed input).
# 3. Each query runs RUNS times (default 3) in one session of each engine; the
#    fastest time is reported. DuckDB (Python package) reads the same files
#    with `read_parquet(..., hive_partitioning = true)`.
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS="${EVENTS:-5000000}"
DAYS="${DAYS:-30}"
RUNS="${RUNS:-3}"
WORK="${WORK:-$(mktemp -d /tmp/palisade-lake-bench.XXXXXX)}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/palisade-target}"

PROFILE="${PROFILE:-release}"
cargo build --profile "$PROFILE" --locked -q -p palisade-lake --example lakebench
BENCH="$CARGO_TARGET_DIR/$PROFILE/examples/lakebench"

VENV="${PALISADE_VENV:-$HOME/.cache/palisade-venv}"
if ! "$VENV/bin/python" -c "import duckdb, pytz" 2>/dev/null; then
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'duckdb==1.*' pytz
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "build profile: $PROFILE"
echo "work dir: $WORK"
if [ ! -d "$WORK/logs/AWSLogs" ]; then
  "$BENCH" generate "$WORK/logs" "$EVENTS" "$DAYS"
fi
rm -rf "$WORK/lake"
/usr/bin/time -f "ingest wall %e s, cpu %U+%S s, max rss %M KB" "$BENCH" ingest "$WORK/lake" "$WORK/logs"
echo "lake: $(du -sh "$WORK/lake" | cut -f1) in $(find "$WORK/lake" -name '*.parquet' | wc -l) files"

# The five queries of issue 7, the same SQL for both engines.
KEY=$(printf 'AKIA%016X' $(( (7 * 0x9E3779B97F4A7C15) >> 1 & 0x7FFFFFFFFFFFFFFF )) )
DAY=2026-11-15
names=(
  "count by action, one day"
  "one access key, 30 days"
  "failed console logins per IP per hour > 10"
  "top principals by AccessDenied"
  "requests mentioning 0.0.0.0/0"
)
queries=(
  "SELECT action, count(*) AS n FROM cloudtrail WHERE dt = '$DAY' GROUP BY action ORDER BY n DESC, action"
  "SELECT time, action, event_source, src_ip, outcome FROM cloudtrail WHERE access_key_id = '$KEY' AND time >= TIMESTAMP '2026-11-01 00:00:00' AND time < TIMESTAMP '2026-12-01 00:00:00' ORDER BY time"
  "SELECT src_ip, date_trunc('hour', time) AS hour, count(*) AS failures FROM cloudtrail WHERE action = 'ConsoleLogin' AND outcome = 'failure' GROUP BY src_ip, date_trunc('hour', time) HAVING count(*) > 10 ORDER BY failures DESC, hour"
  "SELECT actor, count(*) AS denied FROM cloudtrail WHERE error_code IN ('AccessDenied', 'Client.UnauthorizedOperation') GROUP BY actor ORDER BY denied DESC, actor LIMIT 10"
  "SELECT time, actor, action, src_ip FROM cloudtrail WHERE raw LIKE '%0.0.0.0/0%' ORDER BY time"
)

printf '%-44s %12s %12s %8s %10s\n' query "palisade ms" "duckdb ms" ratio rows
for i in "${!queries[@]}"; do
  read -r ours rows < <("$BENCH" query "$WORK/lake" "$RUNS" "${queries[$i]}")
  read -r theirs their_rows < <("$VENV/bin/python" bench/lake_duckdb.py "$WORK/lake" "$RUNS" "${queries[$i]}")
  ratio=$(python3 -c "print(f'{$ours / $theirs:.2f}')")
  check=""
  [ "$rows" = "$their_rows" ] || check=" (duckdb: $their_rows rows)"
  printf '%-44s %12s %12s %8s %10s%s\n' "${names[$i]}" "$ours" "$theirs" "$ratio" "$rows" "$check"
done
[ -n "${KEEP:-}" ] || rm -rf "$WORK"
