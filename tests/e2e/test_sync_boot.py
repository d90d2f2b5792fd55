# SPDX-License-Identifier: MIT
"""The update hierarchy as a running blade sees it (issue 4): a master host,
the management node and two image servers (qemu/topology), image server
s02 also serving blades (qemu/imageserver --dim: dhcpd and ganesha on what
dim dhcp install and dim nfs install wrote), and QEMU blade s02c1b01 of
config/small.xml, bind mode.

1. While the blade runs, files change on the master and `syncit` runs on
   the management node: the blade sees the changed file and the new file
   under the RO tree without rebooting, within a bound that holds with the
   RO mount's directory cache (dim-linuxrc(7), RO TREE UPDATES) and not
   with the kernel's defaults (a new name took 25 s or more).
2. The same syncit staged the RW template's change in the blade's pending/
   on s02; the blade reboots and has the new file, pending/ is gone from
   the server, and neither its per-blade /etc/hostname nor its own keep-out
   /var/log/messages was touched.

Two boots, one at a time.
"""

import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time

import pytest

import helpers
from conftest import ARCH
from helpers import DIM_LINE
from liveblade import LiveBlade
from synclab import REPO, Topology, definition, rw_dir

BLADE = ("s02c1b01", "52:54:00:00:02:01", "10.77.1.11")
BOOT_TIMEOUT = 150
SEEN_WITHIN = 15        # seconds after syncit ends; the measured time is ~1-3 s
CHANGED = "/usr/share/dim-master/VERSION"
NEW = "/usr/share/dim-master/NEWS"
WATCH_SECONDS = 120


@pytest.fixture(scope="module")
def lab(build_dir, blade_software):
    for tool in ("rsync", "sshd", "ssh-keygen"):
        if not (shutil.which(tool) or os.path.exists("/usr/sbin/" + tool)):
            pytest.fail("%s is missing: run tests/deps.sh check" % tool, pytrace=False)
    top = tempfile.mkdtemp(prefix="dim-sync-boot-")
    s01, s02 = os.path.join(top, "s01"), os.path.join(top, "s02")
    os.makedirs(s01)
    os.makedirs(s02)
    imageserver = os.path.join(helpers.QEMU_DIR, "imageserver")
    server_state = os.path.join(top, "s02-server")
    ns = "dimsb%d" % (os.getpid() % 100000)
    dim = os.path.join(build_dir, "bin", "dim")
    db = os.path.join(top, "state.db")
    t = Topology(build_dir, top, ["s01=10.77.0.1", "s02=10.77.1.1,ns=%s" % ns])
    t.cluster = definition(top, s01, s02)
    t.storage = {"s01": s01, "s02": s02}
    t.server = helpers.ImageServer(server_state, s02, None)
    t.imageserver = lambda *a: helpers.run([imageserver] + list(a))
    try:
        # The image server first (the topology joins its namespace): nothing
        # to export yet, dim nfs install says so.
        t.imageserver("up", server_state, "--root", s02, "--dim", t.cluster, "--server", "s02",
                      "--dim-state", db, "--dim-bin", dim, "--addr", "10.77.1.1/24", "--name", ns)
        t.up(blade_software["busybox"])
        t.dimc("sync_master")
        p = t.dimc("image", "master")
        assert p.stdout.count(" ok ") == 2, p.stdout
        # the admin exports what dim image made
        t.imageserver("reload", server_state)
        assert 'Path = "%s";' % rw_dir(t, "s02", BLADE[0]) in open(
            os.path.join(server_state, "dim", "dim-exports.conf")).read()
        yield t
    finally:
        t.down()
        subprocess.run([imageserver, "down", server_state], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
        keep = os.path.join(build_dir, "e2e", "sync-boot-server")
        shutil.rmtree(keep, ignore_errors=True)
        shutil.copytree(server_state, keep, ignore=shutil.ignore_patterns("run"), dirs_exist_ok=True)
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(scope="module")
def token():
    return secrets.token_hex(6)


def note(build_dir, line):
    path = os.path.join(build_dir, "e2e", "sync-boot-timings.txt")
    with open(path, "a") as f:
        f.write(line + "\n")


@pytest.fixture(scope="module")
def live(build_dir, zimage, lab, token):
    """Boot 1: the blade watches CHANGED and NEW while syncit runs."""
    t = lab
    t.write_master(CHANGED[1:], "version 1\n")
    dimtest = "write:/var/log/messages:bladelog-%s,watch:%s:%d,watch:%s:%d" % (
        token, CHANGED, WATCH_SECONDS, NEW, WATCH_SECONDS)
    # the first version must be on the servers before the blade looks
    t.run("mgmt", [os.path.join(REPO, "server", "syncit"), "-c", t.cluster])
    b = LiveBlade(t.server.state, BLADE[0], BLADE[1], zimage["kernel"], zimage["initrd"],
                  os.path.join(build_dir, "e2e", "logs"), append="quiet dimtest=" + dimtest,
                  arch=ARCH, log_name="sync-boot-watch")
    result = {"blade": b}
    try:
        first = b.wait(r"^DIM-WATCH ", count=2, timeout=BOOT_TIMEOUT)
        result["first"] = first
        if len(first) < 2:
            result["failed"] = "no DIM-WATCH lines in %d s:\n%s" % (BOOT_TIMEOUT, b.excerpt())
            return result
        # Let the blade's caches settle on what it saw (a negative entry for NEW).
        time.sleep(3)
        t.write_master(CHANGED[1:], "version 2 %s\n" % token)
        t.write_master(NEW[1:], "news %s\n" % token)
        t.write_master("etc/motd", "motd %s\n" % token)                 # RW template
        t.write_master("etc/hostname", "master-renamed\n")              # per-blade
        t.write_master("var/log/messages", "the master's log %s\n" % token)  # keep-out
        t0 = b.now()
        p = t.run("mgmt", [os.path.join(REPO, "server", "syncit"), "-c", t.cluster], check=False)
        t1 = b.now()
        result["syncit"] = p
        result["sync_start"], result["sync_end"] = t0, t1
        result["seen"] = b.wait(r"^DIM-WATCH(-TIMEOUT)? ", count=4, timeout=WATCH_SECONDS)
        result["done"] = b.wait(r"^DIM-DONE", timeout=60)
        result["rc"] = b.wait_exit(60)
        return result
    finally:
        b.stop()


def seen_after(live, path):
    """Seconds from syncit's end to the blade's line showing path changed."""
    lines = [(t, l) for t, l in live["seen"][2:] if l.split()[2:3] == [path]]
    assert lines, "the blade saw no change of %s; its lines: %s\nconsole ends:\n%s" % (
        path, live["seen"], live["blade"].excerpt())
    t, line = lines[0]
    assert not line.startswith("DIM-WATCH-TIMEOUT"), line
    return t - live["sync_end"], line


def test_syncit_ran(live):
    assert "failed" not in live, live.get("failed")
    p = live["syncit"]
    assert p.returncode == 0, p.stdout + p.stderr
    # sync_image on both servers, the blade's staged
    assert re.search(r"s02 +ok +s02: image master: RO tree [1-9]\d* updated", p.stdout), p.stdout


@pytest.mark.parametrize("path,want", [(CHANGED, "version 2"), (NEW, "news")])
def test_running_blade_sees_the_change(build_dir, live, token, path, want):
    """Within SEEN_WITHIN seconds of syncit's end, without a reboot."""
    assert "failed" not in live, live.get("failed")
    first = [l for _, l in live["first"] if l.split()[2] == path]
    assert first and first[0].split(None, 3)[3] == ("NONE" if path == NEW else "version 1 "), first
    delay, line = seen_after(live, path)
    note(build_dir, "%s: seen %.1f s after syncit ended (syncit took %.1f s)" % (
        path, delay, live["sync_end"] - live["sync_start"]))
    assert line.split(None, 3)[3] == "%s %s " % (want, token), line
    assert delay < SEEN_WITHIN, "%s seen %.1f s after syncit" % (path, delay)


def test_rw_change_is_staged_not_the_blades_own_files(live, lab, token):
    assert "failed" not in live, live.get("failed")
    pend = os.path.join(rw_dir(lab, "s02", BLADE[0]), "pending")
    with open(os.path.join(pend, "etc", "motd")) as f:
        assert f.read() == "motd %s\n" % token
    assert not os.path.exists(os.path.join(pend, "etc", "hostname")), "per-blade file staged"
    assert not os.path.exists(os.path.join(pend, "var", "log", "messages")), "keep-out staged"
    assert live["done"], "the blade did not finish its watches"


@pytest.fixture(scope="module")
def reboot(live, lab, zimage, build_dir):
    """Boot 2: the same blade, after the watch boot powered off."""
    assert live["rc"] == 0, "the first boot did not power off (QEMU %s)" % live["rc"]
    runner = helpers.BladeRunner(lab.server, zimage["kernel"], zimage["initrd"],
                                 os.path.join(build_dir, "e2e", "logs"), arch=ARCH)
    try:
        return runner.boot(BLADE[0], BLADE[1],
                           append="quiet dimtest=image,cat:/etc/motd,cat:/etc/hostname,"
                                  "cat:/var/log/messages",
                           until=r"^DIM-DONE", timeout=BOOT_TIMEOUT, wait_exit=True,
                           log_name="sync-boot-reboot")
    finally:
        runner.stop_all()


def test_reboot_installs_the_staged_rw_change(reboot, lab, token):
    boot = reboot
    assert boot.matched, "no DIM-DONE (log %s):\n%s" % (boot.log_path, boot.excerpt())
    assert boot.lines(DIM_LINE + r" rw-update: installed [1-9]\d* files"), boot.lines("rw-update")
    assert boot.lines(r"^DIM-CAT /etc/motd motd %s $" % token), boot.lines("DIM-CAT")
    # the RO change is there too, after a reboot as before it
    rw = rw_dir(lab, "s02", BLADE[0])
    assert not [n for n in os.listdir(rw) if n.startswith("pending")], os.listdir(rw)


def test_reboot_keeps_per_blade_and_keep_out_files(reboot, token):
    boot = reboot
    assert boot.matched, "no DIM-DONE (log %s)" % boot.log_path
    assert boot.lines(r"^DIM-CAT /etc/hostname %s $" % BLADE[0]), boot.lines("DIM-CAT")
    assert boot.lines(r"^DIM-CAT /var/log/messages bladelog-%s $" % token), boot.lines("DIM-CAT")
    assert boot.lines(r"^DIM-MARKER host=%s addr=%s mode=bind root=ext4" % (BLADE[0], BLADE[2]))
