#!/usr/bin/env bash
# Runs the suite as independent groups at the same time and fails if any group fails.
# The fault suite (kill -9, broker and database restarts) spends most of its time
# waiting, so it runs next to everything else instead of after it. Each group is its own
# pytest session: its own throwaway broker, its own fresh databases, its own log.
# Usage: tests/run-groups.sh [pytest args...]   (PY: the interpreter, default .venv/bin/python)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
# Balanced by wall time on a 2-core CI machine: the fault suite (~16 min) takes the
# schemathesis run and the browser tests (~5 min) with it; everything else (~19 min) runs beside.
GROUPS_TO_RUN=("not faults and not fuzz and not browser" "faults or fuzz or browser")
logs=$(mktemp -d)
declare -a pids
for i in "${!GROUPS_TO_RUN[@]}"; do
  "$PY" -m pytest -m "${GROUPS_TO_RUN[$i]}" "$@" >"$logs/$i.log" 2>&1 &
  pids[i]=$!
done
status=0
for i in "${!GROUPS_TO_RUN[@]}"; do
  wait "${pids[i]}"; rc=$?
  echo "=============== group: -m \"${GROUPS_TO_RUN[$i]}\" (exit $rc) ==============="
  cat "$logs/$i.log"
  # 5 = no tests collected: a group may legitimately be empty under a narrower selection.
  [ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] || status=1
done
rm -rf "$logs"
exit $status
