#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each, JOBS at a time, from its seed corpus
# here plus what earlier runs found in BUILD/corpus (the checked-in seeds are never written).
# Prints each target's executions, edges covered and corpus size; fails if any target finds a
# crash, leak, timeout or sanitizer report: its input is then in BUILD/artifacts/TARGET/.
#   usage: run.sh BUILD SECONDS JOBS [TARGET...]
# With FUZZ_RUNS=N in the environment each target runs N executions instead (SECONDS unused):
# how the figures in README.md were made.
set -euo pipefail
build=$(realpath "$1") seconds=$2 jobs=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(request_head chunked_body response_head uwsgi_request
                                     agent_reply config proxy_header)

run_one() {
  local t=$1 log="$build/fuzz-logs/$1.log"
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t" "$build/fuzz-logs"
  # -timeout: one input taking over 10 s is a finding (a quadratic parse, a loop).
  local limit=(-max_total_time="$seconds")
  [ -z "${FUZZ_RUNS:-}" ] || limit=(-runs="$FUZZ_RUNS")
  if nice "$build/tests/fuzz/fuzz_$t" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$build/artifacts/$t/" \
       "$build/corpus/$t" "$here/corpus/$t" > "$log" 2>&1; then
    local execs cov corp
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    corp=$(grep -o 'corp: [0-9]*' "$log" | tail -1)
    printf '%-14s ok   %12s execs  %-10s %s\n' "$t" "$execs" "$cov" "$corp"
  else
    printf '%-14s FAIL (log: %s)\n' "$t" "$log"
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -20
    return 1
  fi
}
export -f run_one
export build seconds here
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {}'
