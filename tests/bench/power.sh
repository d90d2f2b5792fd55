#!/bin/bash
# SPDX-License-Identifier: MIT
# The power state of 2352 blades behind 168 management modules (the
# MareNostrum layout, config/marenostrum.xml), each module a real snmpd with
# the simulator (tests/snmp/bcsim) on the definition's own address, all in
# one network namespace this script creates (on its loopback).
#
#   O=/abs/build/dir tests/bench/power.sh        (as root; RUNS=N, default 3)
#
# Reports the median wall time of `dim bctool all state`, at several
# --parallel values, of `dim bcadmin all power state`, and of powering every
# blade on and off again.  Table to stdout and $O/bench/power.txt.  Every
# snmpd is stopped by its PID, the namespace deleted.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
O=${O:-$top/build}
dim=$O/bin/dim
runs=${RUNS:-3}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "power.sh: RUNS must be a positive number" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "power.sh: needs root (a network namespace)" >&2; exit 2; }
[ -x "$dim" ] || { echo "power.sh: $dim is not built (make O=$O all)" >&2; exit 2; }
command -v snmpd >/dev/null || { echo "power.sh: snmpd missing (tests/deps.sh check)" >&2; exit 2; }

work=$(mktemp -d /tmp/dim-bench-power.XXXXXX)
ns=dimbp$$
cleanup() {
	/usr/bin/python3 "$top/tests/snmp/mmsim.py" stop "$work" || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The definition, with a credentials file of ours.
sed -e "s|file=\"/etc/dim/secrets/bladecenter\"|file=\"$work/bc\"|" \
	"$top/config/marenostrum.xml" >"$work/cluster.xml"
printf 'version=2c\ncommunity=bc-write-3x\ntimeout=5000\nretries=1\n' >"$work/bc"
chmod 600 "$work/bc"

# Management module addresses: <address base="10.0.1.11" strides="server:0.0.1.0 chassis:1"/>
addrs=()
for s in $(seq 1 42); do
	for c in 0 1 2 3; do
		addrs+=("10.0.$s.$((11 + c))")
	done
done
ip netns add "$ns"
ip -n "$ns" link set lo up
for a in "${addrs[@]}"; do
	ip -n "$ns" addr add "$a/32" dev lo
done

t0=$(date +%s.%N)
/usr/bin/python3 "$top/tests/snmp/mmsim.py" start "$work" "$ns" "${addrs[@]}"
t1=$(date +%s.%N)
mem=$(ps -o rss= -p "$(paste -sd, "$work/pids")" | awk '{s += $1} END {printf "%.0f", s / 1024}')

# median of the seconds printed by a command run RUNS times
median() {
	sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

run() {
	local out rc
	for _ in $(seq "$runs"); do
		local a b
		a=$(date +%s.%N)
		out=$(ip netns exec "$ns" "$dim" "$@" -c "$work/cluster.xml" --state "$work/state.db" -q) && rc=0 || rc=$?
		b=$(date +%s.%N)
		if [ "$rc" != 0 ]; then
			echo "power.sh: dim $* failed ($rc):" >&2
			echo "$out" | tail -5 >&2
			exit 1
		fi
		awk -v a="$a" -v b="$b" 'BEGIN {print b - a}'
	done | median
}

mkdir -p "$O/bench"
{
	printf 'dim power benchmark: 2352 blades, 168 management modules (snmpd + bcsim each), %s run(s), median seconds\n' "$runs"
	printf 'simulators: started in %.1f s, %s MiB resident (snmpd + pass_persist)\n' \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" "$mem"
	printf 'host: %s cores, %s\n\n' "$(nproc)" "$(uname -r)"
	printf '%-58s %8s\n' "command" "seconds"
	for j in 16 32 64 168; do
		printf '%-58s %8.3f\n' "dim bctool all state -j $j" "$(run bctool all state -j "$j")"
	done
	printf '%-58s %8.3f\n' "dim bcadmin all power state -j 32" "$(run bcadmin all power state -j 32)"
	printf '%-58s %8.3f\n' "dim bctool all on -j 32 (no stagger)" "$(RUNS=1 runs=1 run bctool all on -j 32)"
	printf '%-58s %8.3f\n' "dim bctool all state -j 32 (all on)" "$(run bctool all state -j 32)"
	printf '%-58s %8.3f\n' "dim bctool all off -j 32" "$(RUNS=1 runs=1 run bctool all off -j 32)"
} | tee "$O/bench/power.txt"
