# SPDX-License-Identifier: MIT
"""The update hierarchy on real hosts: a master host (rsync daemon), the
management node and two image servers (each with its own sshd), each in a
network namespace of its own (qemu/topology), running dim sync_master,
sync_server, sync_image, dim image and syncit for real.

config/small.xml with storage roots of the test's own; s02's storage is a
small tmpfs in its sshd's private mount namespace for the full-disk test,
which uses its own topology.  Every process is stopped by PID, every
namespace deleted.
"""

import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from synclab import REPO, TOPOLOGY, Topology, definition, rw_dir, sh, tree_sums


@pytest.fixture(scope="module")
def topo(build_dir, blade_software):
    for tool in ("rsync", "sshd", "ssh-keygen"):
        if not (shutil.which(tool) or os.path.exists("/usr/sbin/" + tool)):
            pytest.fail("%s is missing: run tests/deps.sh check" % tool, pytrace=False)
    top = tempfile.mkdtemp(prefix="dim-sync-")
    s01, s02 = os.path.join(top, "s01"), os.path.join(top, "s02")
    os.makedirs(s01)
    os.makedirs(s02)
    t = Topology(build_dir, top, ["s01=10.77.0.1", "s02=10.77.1.1"])
    t.cluster = definition(top, s01, s02)
    t.storage = {"s01": s01, "s02": s02}
    try:
        t.up(blade_software["busybox"])
        yield t
    finally:
        t.down()
        shutil.rmtree(top, ignore_errors=True)


def test_sync_image_then_syncit(topo):
    """dim image over the real hosts, then a change on the master reaches both
    servers' RO trees and every bind blade's pending/ through syncit; keep-out
    holds; the per-blade /etc/hostname is never staged."""
    t = topo
    p = t.dimc("sync_master")
    assert "ok" in p.stdout
    mgmt_copy = os.path.join(t.top, "mgmt", "masters", "master")
    assert os.path.isfile(os.path.join(mgmt_copy, "sbin", "init"))
    assert not os.path.exists(os.path.join(mgmt_copy, "var", "log", "messages")), "keep-out copied"

    p = t.dimc("image", "master")
    assert p.stdout.count(" ok ") == 2, p.stdout
    for server, blades in (("s01", ["s01c1b01", "s01c1b02", "s01c1b03", "s01c1b04"]),
                           ("s02", ["s02c1b01", "s02c1b02"])):
        ro = os.path.join(t.storage[server], "images", "master", "ro")
        assert sorted(os.listdir(ro)) == ["bin", "lib", "opt", "sbin", "usr"]
        for b in blades:
            d = rw_dir(t, server, b)
            assert os.stat(d).st_mode & 0o777 == 0o711
            img = os.path.join(d, "rw.img")
            st = os.stat(img)
            assert st.st_size == 64 << 20 and st.st_blocks * 512 < st.st_size, "not sparse"
            host = sh(["debugfs", "-R", "cat /etc/hostname", img]).stdout
            assert host.strip() == b
            hosts = sh(["debugfs", "-R", "cat /etc/hosts", img]).stdout
            assert b in hosts and "mn" in hosts
            assert "messages" not in sh(["debugfs", "-R", "ls /var/log", img]).stdout
    # a second dim image keeps the blades' data
    p = t.dimc("image", "master", "s01c1b01")
    assert "kept" in p.stdout

    t.write_master("usr/share/dim-master/VERSION", "version 2\n")
    t.write_master("etc/motd", "hello from the master\n")
    t.write_master("etc/hostname", "master-renamed\n")
    t.write_master("var/log/messages", "more of the master's log\n")
    env = dict(t.env)
    p = t.run("mgmt", [os.path.join(REPO, "server", "syncit"), "-c", t.cluster], check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    for server in ("s01", "s02"):
        ro = os.path.join(t.storage[server], "images", "master", "ro")
        with open(os.path.join(ro, "usr", "share", "dim-master", "VERSION")) as f:
            assert f.read() == "version 2\n"
        # hard-linked to the server's master copy: no second copy on disk
        m = os.path.join(t.storage[server], "images", "master", "master", "usr", "bin")
        assert os.path.samefile(os.path.join(ro, "bin", "busybox"),
                                os.path.join(t.storage[server], "images", "master", "master", "bin", "busybox"))
        assert os.path.isdir(m)
    pend = os.path.join(rw_dir(t, "s02", "s02c1b01"), "pending")
    with open(os.path.join(pend, "etc", "motd")) as f:
        assert f.read() == "hello from the master\n"
    assert not os.path.exists(os.path.join(pend, "etc", "hostname")), "per-blade file staged"
    assert not os.path.exists(os.path.join(pend, "var", "log", "messages")), "keep-out staged"
    assert not os.path.exists(os.path.join(rw_dir(t, "s02", "s02c1b03"), "pending")), "overlay blade staged"
    del env


def test_removal_is_staged_and_merged(topo):
    t = topo
    os.unlink(os.path.join(t.master, "etc", "fstab"))
    t.write_master("etc/second", "2\n")
    t.run("mgmt", [os.path.join(REPO, "server", "syncit"), "-c", t.cluster])
    pend = os.path.join(rw_dir(t, "s01", "s01c1b02"), "pending")
    with open(os.path.join(pend, ".dim-remove")) as f:
        assert "/etc/fstab\n" in f.read()
    # the earlier change is still there: merged, not replaced
    assert os.path.exists(os.path.join(pend, "etc", "motd"))
    assert os.path.exists(os.path.join(pend, "etc", "second"))


def test_second_sync_is_refused_naming_the_first(topo):
    t = topo
    lock = os.path.join(t.top, "mgmt", "masters", ".master.lock")
    with open(lock, "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.truncate(0)
        f.write("dim sync_server (pid 4242, user test) since now\n")
        f.flush()
        p = t.dimc("sync_server", check=False)
        assert p.returncode == 1
        assert "held by dim sync_server (pid 4242, user test)" in p.stderr, p.stderr
    # released: the next one runs
    t.dimc("sync_server")


def test_kill9_mid_sync_server_then_rerun(topo):
    """kill -9 of dim while rsync pushes; a rerun leaves the servers' copies
    identical to the management node's (checksums)."""
    t = topo
    big = os.path.join(t.master, "usr", "share", "big")
    os.makedirs(big, exist_ok=True)
    for i in range(300):
        with open(os.path.join(big, "f%03d" % i), "wb") as f:
            f.write(os.urandom(64 << 10))
    t.dimc("sync_master")
    proc = subprocess.Popen([TOPOLOGY, "exec", t.state, "mgmt", t.dim, "sync_server", "-c", t.cluster],
                            env=t.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.6)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # no rsync of ours may go on by itself (they die with dim)
    time.sleep(0.5)
    p = t.dimc("sync_server")
    assert p.stdout.count(" ok ") == 2, p.stdout
    want = tree_sums(os.path.join(t.top, "mgmt", "masters", "master"))
    for server in ("s01", "s02"):
        got = tree_sums(os.path.join(t.storage[server], "images", "master", "master"))
        assert got == want, server


def test_full_disk_gives_a_clear_error_and_keeps_the_image(build_dir, blade_software):
    top = tempfile.mkdtemp(prefix="dim-sync-full-")
    s01, s02 = os.path.join(top, "s01"), os.path.join(top, "s02")
    os.makedirs(s01)
    t = Topology(build_dir, top, ["s01=10.77.0.1", "s02=10.77.1.1,tmpfs=6m:%s" % s02])
    t.cluster = definition(top, s01, s02)
    t.storage = {"s01": s01, "s02": s02}
    try:
        t.up(blade_software["busybox"])
        t.dimc("sync_master")
        t.dimc("image", "master")
        before = t.run("s02", ["sha256sum", s02 + "/images/master/ro/bin/busybox",
                               s02 + "/images/master/ro/usr/share/dim-master/VERSION"]).stdout
        # more than the 6 MB disk holds
        big = os.path.join(t.master, "usr", "share", "big")
        os.makedirs(big)
        for i in range(8):
            with open(os.path.join(big, "f%d" % i), "wb") as f:
                f.write(os.urandom(1 << 20))
        t.write_master("usr/share/dim-master/VERSION", "version 3\n")
        t.dimc("sync_master")
        p = t.dimc("sync_server", check=False)
        assert p.returncode == 1
        lines = p.stdout.splitlines()
        assert any(l.startswith("s01") and " ok " in l for l in lines), p.stdout
        assert any(l.startswith("s02") and "FAILED" in l and "No space left on device" in l
                   for l in lines), p.stdout
        assert "s02" in p.stderr and "1 of 2 servers failed" in p.stderr
        after = t.run("s02", ["sha256sum", s02 + "/images/master/ro/bin/busybox",
                              s02 + "/images/master/ro/usr/share/dim-master/VERSION"]).stdout
        assert before == after, "the blades' RO tree changed"
    finally:
        t.down()
        shutil.rmtree(top, ignore_errors=True)
