# shellcheck shell=bash
# Used by tests/bench/boot.sh (sourced, not run): fetch the
# blade software, build a boot image, build the master and the image server's
# storage, bring the server up, boot a blade and read its console.
#
# The caller sets O (absolute build directory) and TB_WORK (its own work
# directory under O), and calls tb_cleanup from an EXIT trap.

TB_QEMU=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TB_REPO=$(dirname "$TB_QEMU")
TB_ARCH=${TB_ARCH:-ppc64le}
TB_SERVER_STATE=""
TB_STORAGE=""
TB_BLADE_PID=""
TB_TFTP=${TB_TFTP:-0}	# 1: tb_server also serves TB_STORAGE/root/tftp by TFTP
TB_RA=${TB_RA:-0}	# 1: and sends IPv6 router advertisements (PC blades' iPXE waits for one)
TB_IMAGE=${TB_IMAGE:-master}	# the image tb_server builds

tb_die() { echo "${0##*/}: $*" >&2; exit 1; }

# tb_check: root, O, and the programs the testbed starts.
tb_check() {
	[ -n "${O:-}" ] && [ "${O#/}" != "$O" ] || tb_die "set O to the absolute build directory (make does)"
	[ "$(id -u)" = 0 ] || tb_die "needs root: network namespaces, taps and the image server's daemons"
	local t
	case $TB_ARCH in
	ppc64le) TB_QEMU_BIN=qemu-system-ppc64 ;;
	x86_64) TB_QEMU_BIN=qemu-system-x86_64 ;;
	*) tb_die "unknown blade architecture $TB_ARCH" ;;
	esac
	for t in "$TB_QEMU_BIN" dhcpd ganesha.nfsd rpcbind mke2fs ip; do
		command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || tb_die "$t is missing: run tests/deps.sh demo"
	done
	[ -x "$O/bin/dim" ] || tb_die "$O/bin/dim is missing: run make O=$O"
	[ -x "$O/$TB_ARCH/linuxrc" ] || tb_die "$O/$TB_ARCH/linuxrc is missing: run make O=$O ARCH=$TB_ARCH"
}

# tb_fetch: sets KERNEL, MODULES, KVERSION, BUSYBOX (Debian's, unpacked).
tb_fetch() {
	local line
	while IFS= read -r line; do
		case $line in
		KERNEL=*) KERNEL=${line#*=} ;;
		MODULES=*) MODULES=${line#*=} ;;
		VERSION=*) KVERSION=${line#*=} ;;
		esac
	done < <("$TB_QEMU/fetch" kernel "$TB_ARCH" "$O/cache")
	while IFS= read -r line; do
		case $line in BUSYBOX=*) BUSYBOX=${line#*=} ;; esac
	done < <("$TB_QEMU/fetch" busybox "$TB_ARCH" "$O/cache")
	[ -n "${KERNEL:-}" ] && [ -n "${MODULES:-}" ] && [ -n "${BUSYBOX:-}" ] || tb_die "qemu/fetch failed"
}

# tb_zimage OUTDIR [busybox]: dim buildzimage into OUTDIR.
tb_zimage() {
	local out=$1 bb=()
	[ "${2:-}" = busybox ] && bb=(-b "$BUSYBOX")
	"$O/bin/dim" buildzimage -k "$KERNEL" -m "$MODULES" -a "$TB_ARCH" "${bb[@]}" -q -o "$out" ||
		tb_die "dim buildzimage failed"
}

# tb_server BLADES_FILE_LINES...: storage with the test master under
# TB_WORK/storage, one RW image per blade, and the image server up.
# Each argument is a blades-file line: NAME MAC IP IMAGE MODE [KEY=VALUE...].
# The master is image TB_IMAGE; with TB_TFTP=1 the server also runs tftpd-hpa
# on TB_STORAGE/root/tftp (put boot files there before the blades boot).
tb_server() {
	local line names=()
	TB_STORAGE=$TB_WORK/storage
	TB_SERVER_STATE=$TB_WORK/server
	rm -rf "$TB_STORAGE"
	mkdir -p "$TB_STORAGE/root"
	: >"$TB_STORAGE/blades"
	for line in "$@"; do
		echo "$line" >>"$TB_STORAGE/blades"
		names+=("${line%% *}")
	done
	"$TB_REPO/tests/master/mkmaster" --busybox "$BUSYBOX" --root "$TB_STORAGE/root" \
		--image "$TB_IMAGE" "${names[@]}" || tb_die "building the test master failed"
	local tftp=()
	if [ "$TB_TFTP" = 1 ]; then
		mkdir -p "$TB_STORAGE/root/tftp"
		tftp=(--tftp)
	fi
	[ "$TB_RA" = 0 ] || tftp+=(--ra)
	"$TB_QEMU/imageserver" down "$TB_SERVER_STATE" 2>/dev/null || true
	"$TB_QEMU/imageserver" up "$TB_SERVER_STATE" --root "$TB_STORAGE/root" --blades "$TB_STORAGE/blades" \
		"${tftp[@]}" || tb_die "the image server did not come up"
}

# tb_boot NAME MAC KERNEL INITRD APPEND LOG TIMEOUT [FILTER]: boot a blade;
# every console line goes to LOG and through FILTER (a function, default:
# none), and to LOG.times with the host-clock seconds since QEMU start in
# front.  Sets TB_T_MARKER to the seconds from QEMU start to the master's
# DIM-MARKER line (empty if none).  Returns QEMU's status.
#
# The console is read by a background subshell while this shell sits in
# `wait`: only `wait` lets a trapped SIGINT (Ctrl-C) run its trap at once;
# a shell blocked in `read` would first wait for the blade to end.
tb_boot() {
	local name=$1 mac=$2 kernel=$3 initrd=$4 append=$5 log=$6 timeout=$7 filter=${8:-}
	tb_boot_args "$log" "$timeout" "$filter" "$name" --mac "$mac" --kernel "$kernel" \
		--initrd "$initrd" --append "$append"
}

# tb_netboot NAME MAC LOG TIMEOUT [FILTER [BLADE_OPTION...]]: as tb_boot, but
# through the blade's firmware from the network (qemu/blade --netboot): DHCP
# must name a boot file the server's TFTP tree has.
tb_netboot() {
	local name=$1 mac=$2 log=$3 timeout=$4 filter=${5:-}
	shift 5 2>/dev/null || shift $#
	tb_boot_args "$log" "$timeout" "$filter" "$name" --mac "$mac" --netboot "$@"
}

# tb_times LOG REGEX: seconds from QEMU start to the first console line
# matching REGEX (awk syntax), from LOG.times; empty if none.
tb_times() {
	awk -v re="$2" '{ t = $1; sub(/^[^ ]* /, "") } $0 ~ re { printf "%.2f\n", t; exit }' "$1.times"
}

# tb_boot_args LOG TIMEOUT FILTER NAME BLADE_OPTION...: what tb_boot and
# tb_netboot share.
tb_boot_args() {
	local log=$1 timeout=$2 filter=$3 name=$4
	shift 4
	local fifo=$TB_WORK/.console.fifo mark=$TB_WORK/.marker-time t0 reader rc=0
	TB_T_MARKER=""
	: >"$log"
	: >"$log.times"
	rm -f "$fifo" "$mark"
	mkfifo "$fifo"
	t0=$EPOCHREALTIME
	(
		found=0
		while IFS= read -r line; do
			line=${line%$'\r'}
			printf '%s\n' "$line" >>"$log"
			# Raw clock now, the subtraction later: no process per line.
			printf '%s %s\n' "$EPOCHREALTIME" "$line" >>"$log.times"
			if [ $found = 0 ] && [[ $line == DIM-MARKER* ]]; then
				awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f\n", b - a }' >"$mark"
				found=1
			fi
			[ -z "$filter" ] || "$filter" "$line"
		done <"$fifo"
	) &
	reader=$!
	timeout --foreground "$timeout" "$TB_QEMU/blade" "$TB_SERVER_STATE" "$name" \
		--arch "$TB_ARCH" "$@" >"$fifo" 2>&1 &
	TB_BLADE_PID=$!
	wait "$TB_BLADE_PID" || rc=$?
	TB_BLADE_PID=""
	wait "$reader" || true
	rm -f "$fifo"
	# Seconds since QEMU start instead of the raw clock.
	awk -v t0="$t0" '{ t = $1; sub(/^[^ ]* /, ""); printf "%.3f %s\n", t - t0, $0 }' \
		"$log.times" >"$log.times.tmp" && mv "$log.times.tmp" "$log.times"
	[ ! -s "$mark" ] || TB_T_MARKER=$(cat "$mark")
	rm -f "$mark"
	return $rc
}

# tb_timeline LOG: the linuxrc's timeline line's fields, one "step seconds" a line.
tb_timeline() {
	sed -n 's/.*dim\[ *[0-9.]*\] init: timeline //p' "$1" | tail -n 1 | tr ' ' '\n' | sed -n 's/=/ /p'
}

# What each step of the timeline covers, for people reading a table.
tb_step_help() {
	case $1 in
	kernel) echo "kernel start until the linuxrc (/init) runs" ;;
	console) echo "mount /dev /proc /sys /run, open the console" ;;
	cmdline) echo "read the dim.* keys of the kernel command line" ;;
	modules) echo "load the NIC, NFS, loop, ext4 and overlay modules" ;;
	link) echo "bring eth0 up, wait for carrier" ;;
	dhcp) echo "DHCP: address, root-path and the dim options" ;;
	netconf) echo "configure eth0" ;;
	ro-mount) echo "NFS-mount the image's shared RO tree" ;;
	rw-mount) echo "NFS-mount the blade's RW directory, loop-mount rw.img" ;;
	root) echo "assemble the root (bind or overlay)" ;;
	switch-root) echo "move /run into the new root, switch to it" ;;
	total) echo "kernel start until exec of /sbin/init" ;;
	esac
}

tb_cleanup() {
	if [ -n "$TB_BLADE_PID" ] && kill -0 "$TB_BLADE_PID" 2>/dev/null; then
		kill -TERM "$TB_BLADE_PID" 2>/dev/null || true
		wait "$TB_BLADE_PID" 2>/dev/null || true
	fi
	TB_BLADE_PID=""
	if [ -n "$TB_SERVER_STATE" ]; then
		"$TB_QEMU/imageserver" down "$TB_SERVER_STATE" || true
	fi
	[ -z "$TB_STORAGE" ] || rm -rf "$TB_STORAGE"
}
