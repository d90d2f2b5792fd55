#!/bin/bash
# Install the Debian packages a make target needs, and nothing when they are
# all present (then it prints nothing).  Idempotent; safe to run every time.
#
#   tests/deps.sh build|check|demo|zimage
#
# The PowerPC blade needs packages of the foreign architecture ppc64el
# (musl-dev:ppc64el).  apt-get update has been seen to fail on one ppc64el
# index while the rest loaded: a partial update is not fatal, the packages
# that are then still missing are.
set -euo pipefail

group=${1:-check}

build=(make gcc gcc-powerpc64le-linux-gnu binutils-powerpc64le-linux-gnu musl-tools
	musl-dev:ppc64el pkg-config zlib1g-dev libcmocka-dev libxml2-dev libsqlite3-dev libnfs-dev libsnmp-dev)
# Everything the tests start for real: daemons, QEMU, tools to make images.
run=(iproute2 qemu-system-ppc qemu-system-x86 qemu-system-data isc-dhcp-server kea-dhcp4-server dnsmasq-base
	nfs-ganesha nfs-ganesha-vfs nfs-kernel-server rpcbind e2fsprogs busybox-static cpio kmod procps
	util-linux libxml2-utils sqlite3 tftpd-hpa ipxe-qemu seabios
	rsync openssh-server openssh-client snmpd snmp fence-agents openipmi ipmitool)
# make zimage: a kernel from Debian's source (kernel-config/).
zimage=("${build[@]}" linux-source-6.1 xz-utils bc bison flex libelf-dev libssl-dev)
check=("${build[@]}" "${run[@]}" "${zimage[@]}" clang libclang-rt-14-dev python3 python3-pytest)
# make demo (qemu/demo): the PowerPC blades with SLOF (qemu-system-data), the
# image servers' daemons, the hosts' sshd and rsync, the management modules
# (snmpd running tests/snmp/bcsim, python3 for it and tests/snmp/follow), and
# the kernel build of `dim buildzimage --zimage`.
demo=("${zimage[@]}" iproute2 qemu-system-ppc qemu-system-data isc-dhcp-server nfs-ganesha
	nfs-ganesha-vfs rpcbind tftpd-hpa e2fsprogs util-linux procps rsync openssh-server
	openssh-client snmpd snmp python3)

case $group in
build) want=("${build[@]}") ;;
check) want=("${check[@]}") ;;
demo) want=("${demo[@]}") ;;
zimage) want=("${zimage[@]}") ;;
*) echo "usage: $0 build|check|demo|zimage" >&2; exit 2 ;;
esac

missing() {
	local p status
	for p in "${want[@]}"; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
		[ "$status" = installed ] || echo "$p"
	done
}

todo=$(missing)
[ -z "$todo" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null; then
		exec sudo "$0" "$@"
	fi
	echo "dim: missing Debian packages (run as root to install): $todo" >&2
	exit 1
fi

if grep -q ':ppc64el' <<<"$todo" && ! dpkg --print-foreign-architectures | grep -qx ppc64el; then
	echo "dim: adding Debian architecture ppc64el for the PowerPC blade's musl" >&2
	dpkg --add-architecture ppc64el
fi

echo "dim: installing $(echo $todo)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || echo "dim: apt-get update reported errors; trying with what loaded" >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $todo >/dev/null

todo=$(missing)
if [ -n "$todo" ]; then
	echo "dim: could not install: $(echo $todo)" >&2
	exit 1
fi
