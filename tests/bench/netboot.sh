#!/bin/bash
# Real firmware netboot, measured: how long `make zimage` takes (clean, and
# after changing only the initramfs), how big the boot files are, and how long
# a blade takes from power-on (QEMU start) to the master's init when its
# firmware fetches the kernel by TFTP: SLOF on ppc64le, iPXE on x86_64.
#
#   O=/abs/build/dir tests/bench/netboot.sh
#
#   RUNS=N           boots per route (default 3); the table shows the median
#   NB_ARCHS="..."   blade architectures (default "ppc64le x86_64")
#   BENCH_CLEAN=0    skip the clean kernel builds (minutes each); the
#                    incremental ones then use $O/kernel, make zimage's tree
#   TB_RA=0          no IPv6 router advertisements on the boot network: iPXE
#                    then waits about 16 s for one before it boots anything
#
# Routes: ppc64le SLOF + zImage.of (kernel-config/, initramfs linked in);
# x86_64 iPXE + bzImage (the same, for PCs) and iPXE + boot.ipxe fetching
# Debian's kernel and dim's initramfs with modules.  Everything runs under
# emulation (TCG).  The table goes to stdout and $O/bench/netboot.txt, the
# consoles (with per-line arrival times, *.log.times) to $O/bench/netboot/.
set -euo pipefail

O=${O:-$(cd "$(dirname "$0")/../.." && pwd)/build}
TB_WORK=$O/bench/netboot
TB_TFTP=1
TB_RA=${TB_RA:-1}	# TB_RA=0: no router advertisements, to see what iPXE waits without
# shellcheck source=qemu/testbed.sh
. "$(dirname "$0")/../../qemu/testbed.sh"

runs=${RUNS:-3}
archs=${NB_ARCHS:-ppc64le x86_64}
clean=${BENCH_CLEAN:-1}
[[ $runs =~ ^[1-9][0-9]*$ ]] || tb_die "RUNS must be a positive number"
[[ $clean =~ ^[01]$ ]] || tb_die "BENCH_CLEAN must be 0 or 1"
for a in $archs; do
	[[ $a =~ ^(ppc64le|x86_64)$ ]] || tb_die "NB_ARCHS: unknown architecture $a"
done
source_tar=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | head -n 1)
[ -n "$source_tar" ] || tb_die "no /usr/src/linux-source-*.tar.xz: run tests/deps.sh zimage"

mkdir -p "$TB_WORK"
log=$TB_WORK/bench.log
out=$O/bench/netboot.txt
: >"$log"
trap 'tb_cleanup >>"$log" 2>&1' EXIT
trap 'exit 130' INT TERM

if [ "$clean" = 1 ]; then
	kbuild=$TB_WORK/kernel
	rm -rf "$kbuild"
else
	kbuild=$O/kernel
fi

median() {
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
size() { stat -c %s "$1"; }

# zimage ARCH OUTDIR [dim options]: dim buildzimage --zimage the way make zimage runs it.
zimage() {
	local arch=$1 outdir=$2
	shift 2
	"$O/bin/dim" buildzimage --zimage -a "$arch" --kernel-source "$source_tar" \
		--kernel-config "$TB_REPO/kernel-config" --kernel-build "$kbuild" -o "$outdir" "$@" \
		>>"$log" 2>&1 || { tail -n 30 "$log" >&2; tb_die "dim buildzimage --zimage -a $arch failed"; }
}

declare -A T=()	# result name: text
rows=()

# ------------------------------------------------------------ the kernel builds
for arch in $archs; do
	TB_ARCH=$arch
	tb_check
	img=zImage.of
	[ "$arch" = x86_64 ] && img=bzImage
	zdir=$TB_WORK/zimage-$arch
	if [ "$clean" = 1 ]; then
		echo "bench: clean kernel build for $arch (minutes)" >&2
		t=$(now)
		zimage "$arch" "$zdir"
		T[clean-$arch]=$(since "$t")
	else
		zimage "$arch" "$zdir"
	fi
	# Only the initramfs changes: the kernel relinks.
	echo "netboot bench $(date +%s.%N)" >"$TB_WORK/stamp"
	t=$(now)
	zimage "$arch" "$zdir" -f "$TB_WORK/stamp:/etc/dim-bench"
	T[incr-$arch]=$(since "$t")
	# Nothing changes: nothing to do.
	t=$(now)
	zimage "$arch" "$zdir" -f "$TB_WORK/stamp:/etc/dim-bench"
	T[same-$arch]=$(since "$t")
	T[size-$arch]=$(size "$zdir/$img")
	T[cpio-$arch]=$(size "$kbuild/$arch/dim-initramfs.cpio")
	echo "bench: $arch: clean ${T[clean-$arch]:--} s, after an initramfs change ${T[incr-$arch]} s," \
		"unchanged ${T[same-$arch]} s; $img ${T[size-$arch]} bytes" >&2
done

# ------------------------------------------------------------ the boots
# phases LOG FIRMWARE_DONE_REGEX: "loaded kernel-start linuxrc exec-init marker"
# in seconds since QEMU start, "-" for a step not seen.  Not anchored: on a
# PC console the kernel's lines follow a time stamp or a terminal reset.
phases() {
	local log=$1 fw=$2 re v out=""
	for re in "$fw" '(Linux version [0-9]|Preparing to boot Linux)' 'dim\[ *[0-9.]+\] console:' \
		'dim\[ *[0-9.]+\] init: exec' '^DIM-MARKER'; do
		v=$(tb_times "$log" "$re" || true)
		out+="${v:--} "
	done
	echo "$out"
}

# route ARCH LABEL BLADE MAC BOOTFILE_REGEX: RUNS netboots, medians into T.
route() {
	local arch=$1 label=$2 blade=$3 mac=$4 fw=$5 i console p k n
	local -a names=(loaded kernel linuxrc init marker)
	rm -rf "$TB_WORK/t-$label"
	mkdir -p "$TB_WORK/t-$label"
	for i in $(seq "$runs"); do
		console=$TB_WORK/console-$label-$i.log
		tb_netboot "$blade" "$mac" "$console" 300 || true
		if [ -z "$TB_T_MARKER" ]; then
			echo "bench: $label boot $i did not reach the master's init; console: $console" >&2
			tail -n 15 "$console" >&2
			exit 1
		fi
		read -r -a p < <(phases "$console" "$fw")
		for k in "${!names[@]}"; do
			n=${names[k]}
			[ "${p[k]:--}" = - ] || echo "${p[k]}" >>"$TB_WORK/t-$label/$n"
		done
		echo "bench: $label boot $i/$runs: power-on to init marker $TB_T_MARKER s" >&2
	done
	for n in "${names[@]}"; do
		if [ -s "$TB_WORK/t-$label/$n" ]; then
			T[$label-$n]=$(median "$TB_WORK/t-$label/$n")
		else
			T[$label-$n]=-
		fi
	done
	rows+=("$label")
}

for arch in $archs; do
	TB_ARCH=$arch
	tb_fetch 2>>"$log"
	TB_IMAGE=master
	if [ "$arch" = ppc64le ]; then
		tb_server "nbp1 52:54:00:be:01:01 10.77.0.61 master bind file=master/zImage.of" >>"$log" 2>&1
		mkdir -p "$TB_STORAGE/root/tftp/master"
		cp "$TB_WORK/zimage-$arch/zImage.of" "$TB_STORAGE/root/tftp/master/"
		chmod -R a+rX "$TB_STORAGE/root/tftp"
		echo "bench: ppc64le SLOF netboots" >&2
		route ppc64le slof-zimage nbp1 52:54:00:be:01:01 'TFTP: Received'
	else
		tb_server "nbx1 52:54:00:be:01:11 10.77.0.71 master bind file=master/bzImage" \
			"nbx2 52:54:00:be:01:12 10.77.0.72 master bind file=master/boot.ipxe" >>"$log" 2>&1
		mkdir -p "$TB_STORAGE/root/tftp/master"
		cp "$TB_WORK/zimage-$arch/bzImage" "$TB_STORAGE/root/tftp/master/"
		"$O/bin/dim" buildzimage -k "$KERNEL" -m "$MODULES" --ipxe -q \
			-o "$TB_STORAGE/root/tftp/master" 2>>"$log" || tb_die "dim buildzimage --ipxe failed"
		T[dist-initrd]=$(size "$TB_STORAGE/root/tftp/master/initrd.img")
		T[dist-kernel]=$(size "$TB_STORAGE/root/tftp/master/kernel")
		chmod -R a+rX "$TB_STORAGE/root/tftp"
		echo "bench: x86_64 iPXE netboots" >&2
		route x86_64 ipxe-bzimage nbx1 52:54:00:be:01:11 'bzImage\.\.\. *ok'
		route x86_64 ipxe-script nbx2 52:54:00:be:01:12 'initrd\.img\.\.\. *ok'
	fi
	"$TB_QEMU/imageserver" down "$TB_SERVER_STATE" >>"$log" 2>&1
	TB_SERVER_STATE=""
done

# ------------------------------------------------------------ the table
{
	echo "dim netboot benchmark: $(nproc) host cores, QEMU under TCG emulation, $runs boots per route"
	echo "IPv6 router advertisements on the boot network: $([ "$TB_RA" = 1 ] && echo yes || echo no)"
	echo "kernel source: $source_tar; build tree: $kbuild"
	echo
	echo "make zimage (dim buildzimage --zimage), seconds:"
	printf '  %-9s %10s %22s %12s %14s %12s\n' arch clean "initramfs changed" unchanged "boot file" "bytes"
	for arch in $archs; do
		img=zImage.of
		[ "$arch" = x86_64 ] && img=bzImage
		printf '  %-9s %10s %22s %12s %14s %12s\n' "$arch" "${T[clean-$arch]:--}" "${T[incr-$arch]}" \
			"${T[same-$arch]}" "$img" "${T[size-$arch]}"
	done
	for arch in $archs; do
		printf '  linked-in initramfs (%s, uncompressed cpio): %s bytes\n' "$arch" "${T[cpio-$arch]}"
	done
	[ -z "${T[dist-kernel]:-}" ] ||
		printf '  x86_64 distribution route: kernel %s bytes, initrd.img (with modules) %s bytes\n' \
			"${T[dist-kernel]}" "${T[dist-initrd]}"
	[ "$clean" = 1 ] && [ -n "${archs%% *}" ] &&
		echo "  (the first clean build includes unpacking the kernel source once)"
	echo
	echo "power-on (QEMU start) to ..., seconds, median of $runs (host clock, console arrival):"
	printf '  %-14s %12s %13s %9s %10s %13s\n' route "boot file in" "kernel start" linuxrc "exec init" "init marker"
	for r in "${rows[@]}"; do
		printf '  %-14s %12s %13s %9s %10s %13s\n' "$r" "${T[$r-loaded]}" "${T[$r-kernel]}" \
			"${T[$r-linuxrc]}" "${T[$r-init]}" "${T[$r-marker]}"
	done
	echo
	for r in "${rows[@]}"; do
		case $r in
		slof-zimage) echo "  slof-zimage:  ppc64le pseries, SLOF: DHCP, TFTP of zImage.of (built-in drivers)" ;;
		ipxe-bzimage) echo "  ipxe-bzimage: x86_64 q35, SeaBIOS + iPXE ROM: DHCP, TFTP of bzImage (built-in drivers)" ;;
		ipxe-script) echo "  ipxe-script:  x86_64 q35, iPXE: boot.ipxe fetches Debian's kernel + initramfs with modules" ;;
		esac
	done
	echo "  boot file in: the firmware says the boot file (last file) has arrived"
	echo "  kernel start: the kernel's banner on the console (Debian's x86_64 kernel prints it"
	echo "  only once its serial console is up, so later than it starts)"
} | tee "$out"
