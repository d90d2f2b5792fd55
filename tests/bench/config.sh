#!/bin/bash
# make bench (part): how long dim takes to turn a cluster definition into all
# DHCP and NFS configuration, for MareNostrum (config/marenostrum.xml, 2352
# blades) and a generated 10,000-blade definition.
#
#   O=/abs/build/dir tests/bench/config.sh      (RUNS=N, default 5: best of N)
#
# Whole processes, as an administrator runs them: load + validate + check the
# definition, generate, write every file atomically (fsync, rename).  "checked"
# adds the DHCP server's own check of every file (dhcpd -t, one per image
# server).  For reference: xCAT's makedhcp takes 456 s for 5,000 nodes.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-$here/build}
dim=$O/bin/dim
runs=${RUNS:-5}
work=$O/bench/config
out=$O/bench/config.txt
[ -x "$dim" ] || { echo "config.sh: build dim first (make)" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
"$here/tests/bench/gen-cluster" -o "$work/10000.xml" 10000
state=$work/no-state.db	# never created: no state, the definition alone

# best CMD...: the fastest of $runs runs, in seconds
best() {
	local i t0 t1 d b=""
	for ((i = 0; i < runs; i++)); do
		t0=$(date +%s.%N)
		"$@" >/dev/null 2>&1 || { echo "config.sh: failed: $*" >&2; "$@" >&2 || true; exit 1; }
		t1=$(date +%s.%N)
		d=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		if [ -z "$b" ] || awk -v d="$d" -v b="$b" 'BEGIN { exit !(d < b) }'; then b=$d; fi
	done
	printf '%.3f' "$b"
}

row() {	# NAME FILE
	local name=$1 def=$2 n list dhcp nfs checked both
	n=$("$dim" list -c "$def" --state "$state" | tail -n +2 | wc -l)
	list=$(best "$dim" list -c "$def" --state "$state")
	dhcp=$(best "$dim" dhcp write -c "$def" --state "$state" -b isc --no-check -o "$work/$name/dhcp")
	nfs=$(best "$dim" nfs write -c "$def" --state "$state" -b ganesha -o "$work/$name/nfs")
	checked=$(best "$dim" dhcp write -c "$def" --state "$state" -b isc -o "$work/$name/dhcp-checked")
	both=$(awk -v a="$dhcp" -v b="$nfs" 'BEGIN { printf "%.3f", a + b }')
	printf '  %-18s %6d %8s %10s %8s %10s %12s\n' "$name" "$n" "$list" "$dhcp" "$nfs" "$both" "$checked"
}

{
	echo "dim configuration benchmark: whole commands, best of $runs, seconds ($(nproc) cores)"
	echo
	printf '  %-18s %6s %8s %10s %8s %10s %12s\n' definition blades list "dhcp isc" "nfs" "dhcp+nfs" "dhcp checked"
	row marenostrum "$here/config/marenostrum.xml"
	row 10000-blades "$work/10000.xml"
	echo
	echo "  list: dim list (load, validate, check the definition; print every blade)"
	echo "  dhcp isc / nfs: dim dhcp write --no-check / dim nfs write -b ganesha, every"
	echo "  image server's file written atomically; dhcp checked: with dhcpd -t per file"
} | tee "$out"
