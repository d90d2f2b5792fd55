#!/bin/bash
# make bench: sizes of what a blade boots, and its boot timeline.
#
#   O=/abs/build/dir tests/bench/boot.sh      (RUNS=N boots, default 3)
#
# Boots one virtual PowerPC blade (QEMU pseries under emulation, Debian's
# kernel, dim's initramfs without busybox) from a virtual image server RUNS
# times and reports, per boot step, the median of the seconds in the linuxrc's
# timeline line; and the host-clock time from QEMU start to the master's init.
# The table goes to stdout and to $O/bench/boot.txt; consoles to $O/bench/.
set -euo pipefail

O=${O:-$(cd "$(dirname "$0")/../.." && pwd)/build}
TB_WORK=$O/bench
# shellcheck source=qemu/testbed.sh
. "$(dirname "$0")/../../qemu/testbed.sh"

runs=${RUNS:-3}
[[ $runs =~ ^[1-9][0-9]*$ ]] || tb_die "RUNS must be a positive number"
blade=bench1 mac=52:54:00:be:00:01 ip=10.77.0.31
steps=(kernel console cmdline modules link dhcp netconf ro-mount rw-mount root switch-root total)

tb_check
mkdir -p "$TB_WORK"
log=$TB_WORK/bench.log
: >"$log"
trap 'tb_cleanup >>"$log" 2>&1' EXIT
trap 'exit 130' INT TERM

# median FILE: the median of the numbers in FILE, one a line.
median() {
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
minmax() {
	sort -g "$1" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf "%.3f %.3f\n", lo, hi; else print "- -" }'
}

echo "bench: fetching the kernel and busybox, building the boot images" >&2
tb_fetch 2>>"$log"
tb_zimage "$TB_WORK/zimage" 2>>"$log"
tb_zimage "$TB_WORK/zimage-busybox" busybox 2>>"$log"
echo "bench: starting the image server" >&2
tb_server "$blade $mac $ip master bind" >>"$log" 2>&1

rm -rf "$TB_WORK/steps"
mkdir -p "$TB_WORK/steps"
for i in $(seq "$runs"); do
	console=$TB_WORK/console-$i.log
	tb_boot "$blade" "$mac" "$TB_WORK/zimage/kernel" "$TB_WORK/zimage/initrd.img" \
		"quiet" "$console" 180 || true
	if [ -z "$TB_T_MARKER" ]; then
		echo "bench: boot $i did not reach the master's init; console: $console" >&2
		tail -n 15 "$console" >&2
		exit 1
	fi
	echo "$TB_T_MARKER" >>"$TB_WORK/steps/marker"
	while read -r step secs; do
		echo "$secs" >>"$TB_WORK/steps/$step"
	done < <(tb_timeline "$console")
	echo "bench: boot $i/$runs: linuxrc total $(tb_timeline "$console" | awk '$1 == "total" { print $2 }') s," \
		"QEMU start to init marker $TB_T_MARKER s" >&2
done

size() { stat -c %s "$1"; }
{
	echo "dim boot benchmark: $TB_ARCH blade, QEMU pseries (TCG emulation), $(nproc) host cores"
	echo "kernel: Debian $KVERSION; $runs boots from one virtual image server (NFS 4.1, bind mode)"
	echo
	printf '  %-36s %10s bytes\n' "linuxrc (static, stripped)" "$(size "$O/$TB_ARCH/linuxrc")"
	printf '  %-36s %10s bytes\n' "initramfs (linuxrc + modules)" "$(size "$TB_WORK/zimage/initrd.img")"
	printf '  %-36s %10s bytes\n' "initramfs with busybox (rescue)" "$(size "$TB_WORK/zimage-busybox/initrd.img")"
	echo
	printf '  %-12s %9s %9s %9s\n' step median min max
	for s in "${steps[@]}"; do
		f=$TB_WORK/steps/$s
		[ -s "$f" ] || continue
		[ "$s" = total ] && printf '  %s\n' "------------------------------------------"
		read -r lo hi < <(minmax "$f")
		printf '  %-12s %8ss %8ss %8ss\n' "$s" "$(median "$f")" "$lo" "$hi"
	done
	echo "  (seconds, the linuxrc's clock; total = kernel start to exec of /sbin/init)"
	read -r lo hi < <(minmax "$TB_WORK/steps/marker")
	printf '  %-12s %8ss %8ss %8ss\n' "marker" "$(median "$TB_WORK/steps/marker")" "$lo" "$hi"
	echo "  (host clock: QEMU start to the master's init printing its marker)"
} | tee "$TB_WORK/boot.txt"
