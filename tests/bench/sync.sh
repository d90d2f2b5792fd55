#!/bin/bash
# Sync benchmark (not a timed test): a simulated cluster of the MareNostrum
# shape, SERVERS image servers x BLADES blades (42 x 56 = 2352), all on this
# machine as directories, each server's storage its own tree.  Times the
# propagation of a 10-file and a 1000-file change to every RO tree and every
# blade's RW part (pending/), dim's way (rsync push to each server's master
# copy with -j fan-out + dim sync_image on each) against the naive way (one
# rsync after another of the whole image into every blade's full copy), and
# the disk used by shared RO + per-blade RW against full per-blade copies.
#
#   tests/bench/sync.sh [BUILD_DIR]     SERVERS=42 BLADES=56 RW_SIZE=8M
set -euo pipefail
O=${1:-${O:-build}}
dim=$(cd "$O" && pwd)/bin/dim
SERVERS=${SERVERS:-42} BLADES=${BLADES:-56} RW_SIZE=${RW_SIZE:-8M}
top=$(mktemp -d /tmp/dim-bench-sync.XXXXXX)
trap 'rm -rf "$top"' EXIT
t() { date +%s.%N; }
el() { awk "BEGIN { printf \"%.2f\", $2 - $1 }"; }

# a master: 3000 files in usr (shared), 300 in etc/var (RW part)
m=$top/mgmt/masters/master
for d in usr/share/pkg{0..29}; do mkdir -p "$m/$d"; for i in $(seq 100); do head -c 4096 /dev/urandom >"$m/$d/f$i"; done; done
for d in etc/conf{0..2}; do mkdir -p "$m/$d"; for i in $(seq 100); do echo "$d $i" >"$m/$d/f$i"; done; done
mkdir -p "$m"/{bin,sbin,lib,opt,var/log,root,tmp}
echo master >"$m/etc/hostname"

# the definition: SERVERS x 1 chassis x BLADES, storage per server via <imageserver>
{
	echo '<cluster xmlns="urn:dim:cluster:1" name="bench">'
	echo "  <management name=\"mn\" address=\"10.200.255.1\" storage=\"$top/mgmt\"/>"
	echo '  <naming><level name="server" prefix="s" count="'$SERVERS'" pad="2"/><level name="chassis" prefix="c" count="1"/><level name="blade" prefix="b" count="'$BLADES'" pad="2"/></naming>'
	echo '  <imageservers storage="/nonexistent"><network base="10.100.0.0" prefix="24" strides="server:0.0.1.0"/><address base="10.100.0.1" strides="server:0.0.1.0"/>'
	for s in $(seq -f %02g 1 $SERVERS); do echo "    <imageserver name=\"s$s\" storage=\"$top/is/s$s\"/>"; done
	echo '  </imageservers>'
	echo '  <chassis><address base="10.101.0.10" strides="server:0.0.1.0"/></chassis>'
	echo '  <blades><address base="10.100.0.10" strides="server:0.0.1.0 blade:1"/></blades>'
	echo "  <image name=\"master\" kernel=\"vmlinux\" rw-size=\"$RW_SIZE\"><shared>bin sbin lib usr opt</shared><keep-out>/var/log/* /tmp/*</keep-out><per-blade>/etc/hostname</per-blade></image>"
	echo '  <boot image="master" nodes="all"/>'
	echo '</cluster>'
} >"$top/c.xml"
export DIM_STATE=$top/state.db

push() {	# the push to every server's master copy: rsync, 8 at once (as sync_server -j 8)
	for s in $(seq -f %02g 1 $SERVERS); do echo "$s"; done |
		xargs -P 8 -I{} rsync -aHS --delete --delay-updates --mkpath "$m/" "$top/is/s{}/images/master/master/"
}
images() { for s in $(seq -f %02g 1 $SERVERS); do "$dim" image master -c "$top/c.xml" --server "s$s" -q >/dev/null; done; }
apply() { for s in $(seq -f %02g 1 $SERVERS); do "$dim" sync_image -c "$top/c.xml" --server "s$s" >/dev/null; done; }

t0=$(t); push; images; t1=$(t)
echo "setup: $SERVERS servers x $BLADES blades: push + dim image (RW images of $RW_SIZE) in $(el $t0 $t1) s"
du_dim=$(du -sk "$top/is" | cut -f1)
alloc_img=$(find "$top/is" -name rw.img -printf '%b\n' | awk '{ s += $1 * 512 } END { print int(s / 1024) }')
full_one=$(du -sk --exclude=var/log "$m" | cut -f1)
n=$((SERVERS * BLADES))
echo "disk: dim (master copy + hard-linked RO + sparse RW images) $((du_dim / 1024)) MiB (of it RW images $((alloc_img / 1024)) MiB)"
echo "disk: full per-blade copies $((full_one * n / 1024)) MiB ($n x $((full_one / 1024)) MiB)  ratio $(awk "BEGIN { printf \"%.1f\", $full_one * $n / $du_dim }")x"

change() {	# N files: half in usr (RO), half in etc (RW)
	local k=$1 i
	for i in $(seq $((k / 2))); do head -c 4096 /dev/urandom >"$m/usr/share/pkg$((i % 30))/f$((i % 100 + 1))"; done
	for i in $(seq $((k - k / 2))); do echo "v$RANDOM" >"$m/etc/conf$((i % 3))/f$((i % 100 + 1))"; done
}

naive() {	# the naive way: one rsync after another into every blade's full copy
	local s b
	for s in $(seq -f %02g 1 $SERVERS); do for b in $(seq -f %02g 1 $BLADES); do
		rsync -aHS --mkpath --delete --exclude='/var/log/*' --exclude=/etc/hostname "$m/" "$top/naive/s${s}b$b/"
	done; done
}
echo "naive: first full copies for $n blades ..."
t0=$(t); naive; t1=$(t); echo "naive: initial copies $(el $t0 $t1) s"

for k in 10 1000; do
	change $k
	t0=$(t); push; apply; t1=$(t)
	dimt=$(el $t0 $t1)
	t0=$(t); naive; t1=$(t)
	nt=$(el $t0 $t1)
	echo "change of $k files: dim $dimt s (push + sync_image on $SERVERS servers, $n pending/), naive $nt s, ratio $(awk "BEGIN { printf \"%.1f\", $nt / $dimt }")x"
done
