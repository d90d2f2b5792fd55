#!/bin/bash
# Sync benchmark (not a timed test): a simulated cluster of the MareNostrum
# shape, SERVERS image servers x BLADES blades (42 x 56 = 2352), all on this
# machine: each server's storage a directory of its own, each server an
# rsync daemon on an address of its own (10.100.K.1, on the loopback
# device of a network namespace this script makes and deletes: no packet
# leaves it), so that dim sync_server pushes to it as to a real one
# (sync="rsyncd").
#
# Times the propagation of a 10-file and a 1000-file change (half in the RW
# part's etc, at most all of its files, the rest in the shared usr) to every
# RO tree and every blade's
# RW part (pending/):
#   dim:   dim sync_server (-j 8) + dim sync_image --server on each server,
#          one server after another (a real cluster runs them side by side,
#          one per server: the slowest server's time is reported too);
#   naive: one rsync after another of the whole image into every blade's
#          full copy (keep-out and the per-blade /etc/hostname excluded);
# and the disk used by shared RO + per-blade RW against full per-blade copies.
#
#   tests/bench/sync.sh [BUILD_DIR]     SERVERS=42 BLADES=56 RW_SIZE=8M
#                                       USR_FILES=3000 RW_FILES=300 (4 kB each in usr)
# Results also in BUILD_DIR/bench/sync.txt.
#
# Setup shortcuts that do not change what is measured: the master's files
# are written by one process; the naive way's first full copies are hard
# links of one full copy (cp -al): rsync compares each blade's copy file by
# file all the same, and replaces what changed by a new file (its temporary
# name and a rename), so every change round costs what it would with
# separate copies.  The naive disk is counted as full copies.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "${0##*/}: needs root (a network namespace)" >&2; exit 1; }
O=${1:-${O:-build}}
dim=$(cd "$O" && pwd)/bin/dim
SERVERS=${SERVERS:-42} BLADES=${BLADES:-56} RW_SIZE=${RW_SIZE:-8M}
USR_FILES=${USR_FILES:-3000} RW_FILES=${RW_FILES:-300}
mkdir -p "$O/bench"
out=$(cd "$O/bench" && pwd)/sync.txt
top=$(mktemp -d /tmp/dim-bench-sync.XXXXXX)
ns=dimbs$$
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$top"
}
trap cleanup EXIT
t() { date +%s.%N; }
el() { awk "BEGIN { printf \"%.2f\", $2 - $1 }"; }
say() { echo "$*" | tee -a "$out"; }
servers() { seq -f %02g 1 "$SERVERS"; }
: >"$out"
say "sync benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ): $SERVERS servers x $BLADES blades, $(nproc) cores"

# ---------------------------------------------------------------- the master
m=$top/mgmt/masters/master
python3 - "$m" "$USR_FILES" "$RW_FILES" <<'EOF'
import os, sys
m, usr, rw = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(usr):
    d = os.path.join(m, "usr/share/pkg%d" % (i // 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%d" % (i % 100 + 1)), "wb") as f:
        f.write(os.urandom(4096))
for i in range(rw):
    d = os.path.join(m, "etc/conf%d" % (i // 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%d" % (i % 100 + 1)), "w") as f:
        f.write("conf%d %d\n" % (i // 100, i % 100 + 1))
for d in ("bin", "sbin", "lib", "opt", "var/log", "root", "tmp"):
    os.makedirs(os.path.join(m, d), exist_ok=True)
with open(os.path.join(m, "etc/hostname"), "w") as f:
    f.write("master\n")
with open(os.path.join(m, "var/log/messages"), "w") as f:
    f.write("the master's log\n")
EOF

# ---------------------------------------------------------------- the servers
# the definition: SERVERS x 1 chassis x BLADES; each server's storage a
# directory, reached by its rsync daemon on 10.100.K.1 in the namespace
{
	echo '<cluster xmlns="urn:dim:cluster:1" name="bench">'
	echo "  <management name=\"mn\" address=\"10.200.255.1\" storage=\"$top/mgmt\"/>"
	echo '  <naming><level name="server" prefix="s" count="'"$SERVERS"'" pad="2"/><level name="chassis" prefix="c" count="1"/><level name="blade" prefix="b" count="'"$BLADES"'" pad="2"/></naming>'
	echo '  <imageservers storage="/nonexistent" sync="rsyncd"><network base="10.100.0.0" prefix="24" strides="server:0.0.1.0"/><address base="10.100.0.1" strides="server:0.0.1.0"/>'
	for s in $(servers); do echo "    <imageserver name=\"s$s\" storage=\"$top/is/s$s\"/>"; done
	echo '  </imageservers>'
	echo '  <chassis><address base="10.101.0.10" strides="server:0.0.1.0"/></chassis>'
	echo '  <blades><address base="10.100.0.10" strides="server:0.0.1.0 blade:1"/></blades>'
	echo "  <image name=\"master\" kernel=\"vmlinux\" rw-size=\"$RW_SIZE\"><shared>bin sbin lib usr opt</shared><keep-out>/var/log/* /tmp/*</keep-out><per-blade>/etc/hostname</per-blade></image>"
	echo '  <boot image="master" nodes="all"/>'
	echo '</cluster>'
} >"$top/c.xml"
export DIM_STATE=$top/state.db

ip netns add "$ns"
ip -n "$ns" link set lo up
for s in $(servers); do
	k=$((10#$s - 1))
	ip -n "$ns" addr add "10.100.$k.1/32" dev lo
	mkdir -p "$top/is/s$s"
	cat >"$top/rsyncd-s$s.conf" <<EOF
use chroot = no
numeric ids = yes
pid file =
[dim]
	path = $top/is/s$s
	read only = no
	uid = 0
	gid = 0
EOF
	ip netns exec "$ns" rsync --daemon --no-detach --address="10.100.$k.1" --port=873 \
		--config="$top/rsyncd-s$s.conf" --log-file=/dev/null </dev/null >/dev/null 2>&1 &
	pids+=($!)
done
for s in $(servers); do
	k=$((10#$s - 1))
	for i in $(seq 100); do
		ip netns exec "$ns" ss -Hltn "src 10.100.$k.1 and sport = :873" | grep -q LISTEN && break
		sleep 0.1
	done
done
inns() { ip netns exec "$ns" "$@"; }

push() { inns "$dim" sync_server -c "$top/c.xml" -j 8 -q >/dev/null; }
# sync_image on every server, one after another; the slowest one's time in $slowest
apply() {
	local s a b d
	slowest=0
	for s in $(servers); do
		a=$(t)
		"$dim" sync_image -c "$top/c.xml" --server "s$s" >/dev/null
		b=$(t)
		d=$(el "$a" "$b")
		slowest=$(awk "BEGIN { print ($d > $slowest) ? $d : $slowest }")
	done
}

t0=$(t); push; t1=$(t)
for s in $(servers); do "$dim" image master -c "$top/c.xml" --server "s$s" -q >/dev/null; done
t2=$(t)
say "setup: dim sync_server to $SERVERS servers $(el "$t0" "$t1") s; dim image --server on each (RO tree, $((SERVERS * BLADES)) RW images of $RW_SIZE by mke2fs -d) $(el "$t1" "$t2") s"
du_dim=$(du -sk "$top/is" | cut -f1)
alloc_img=$(find "$top/is" -name rw.img -printf '%b\n' | awk '{ s += $1 * 512 } END { print int(s / 1024) }')
full_one=$(du -sk --exclude=var/log "$m" | cut -f1)
n=$((SERVERS * BLADES))
say "disk: dim (per server: master copy + hard-linked RO tree + sparse RW images) $((du_dim / 1024)) MiB, of it RW images $((alloc_img / 1024)) MiB"
say "disk: full per-blade copies $((full_one * n / 1024)) MiB ($n x $((full_one / 1024)) MiB); dim uses $(awk "BEGIN { printf \"%.1f\", $full_one * $n / $du_dim }")x less"

change() {	# N files: half in etc (RW; at most all of it), the rest in usr (RO)
	local k=$1
	python3 - "$m" "$k" "$USR_FILES" "$RW_FILES" <<'EOF'
import os, random, sys
m, k, usr, rw = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
n_rw = min(rw, k - k // 2)
for i in random.sample(range(usr), k - n_rw):
    p = os.path.join(m, "usr/share/pkg%d/f%d" % (i // 100, i % 100 + 1))
    with open(p + ".new", "wb") as f:
        f.write(os.urandom(4096))
    os.rename(p + ".new", p)
for i in random.sample(range(rw), n_rw):
    p = os.path.join(m, "etc/conf%d/f%d" % (i // 100, i % 100 + 1))
    with open(p, "a") as f:
        f.write("v%d\n" % random.randrange(1 << 30))
EOF
}

naive() {	# the naive way: one rsync after another into every blade's full copy
	local s b
	for s in $(servers); do for b in $(seq -f %02g 1 "$BLADES"); do
		rsync -aHS --numeric-ids --delete --exclude='/var/log/*' --exclude='/tmp/*' \
			--exclude=/etc/hostname "$m/" "$top/naive/s${s}b$b/"
	done; done
}
t0=$(t)
mkdir -p "$top/naive"
rsync -aHS --exclude='/var/log/*' --exclude='/tmp/*' --exclude=/etc/hostname "$m/" "$top/naive/s01b01/"
for s in $(servers); do for b in $(seq -f %02g 1 "$BLADES"); do
	[ -e "$top/naive/s${s}b$b" ] || cp -al "$top/naive/s01b01" "$top/naive/s${s}b$b"
done; done
t1=$(t)
say "naive: $n first full copies (hard links of one) in $(el "$t0" "$t1") s"

for k in 10 1000; do
	change "$k"
	t0=$(t); push; t1=$(t); apply; t2=$(t)
	dimt=$(el "$t0" "$t2")
	t3=$(t); naive; t4=$(t)
	nt=$(el "$t3" "$t4")
	staged=$(find "$top/is" -maxdepth 6 -name pending -type d | wc -l)
	say "change of $k files: dim $dimt s (sync_server $(el "$t0" "$t1") s, sync_image on $SERVERS servers one after another $(el "$t1" "$t2") s, slowest server $slowest s; $staged blades' pending/), naive $nt s; ratio $(awk "BEGIN { printf \"%.1f\", $nt / $dimt }")x"
	say "  on a real cluster (servers side by side): dim about $(awk "BEGIN { printf \"%.2f\", $(el "$t0" "$t1") + $slowest }") s (push + slowest server), naive $nt s; ratio $(awk "BEGIN { printf \"%.0f\", $nt / ($(el "$t0" "$t1") + $slowest) }")x"
done
