# SPDX-License-Identifier: MIT
"""Boot virtual PowerPC blades from a virtual image server, for real.

Each boot runs Debian's ppc64el kernel under QEMU (TCG) with dim's initramfs;
the linuxrc gets its settings by DHCP, mounts the RO tree and the blade's RW
image over NFS, assembles the root and execs the test master's /sbin/init
(tests/master/init), which prints DIM-* lines and powers off.
"""

import os
import re
import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import B3_MISSING_RO, BLADES, SERVER, UNKNOWN_MAC
from helpers import DIM_LINE, TIMELINE_STEPS

BOOT_TIMEOUT = 120      # seconds; TCG emulation, so generous
APPEND = "quiet"
MARKER_RE = re.compile(r"^DIM-MARKER host=(\S+) addr=(\S+) mode=(\S+) root=(\S+)", re.M)


def boot_master(blades, name, dimtest, log_name, extra=""):
    """Boot NAME into the master's init, run DIMTEST, wait for the power-off."""
    mac = BLADES[name][0]
    return blades.boot(name, mac, append="%s %s dimtest=%s" % (APPEND, extra, dimtest),
                       until=r"^DIM-DONE", timeout=BOOT_TIMEOUT, wait_exit=True,
                       log_name=log_name)


def marker(boot):
    m = MARKER_RE.search(boot.text)
    assert m, "no DIM-MARKER line (log %s); console ends:\n%s" % (boot.log_path, boot.excerpt())
    return dict(zip(("host", "addr", "mode", "root"), m.groups()))


def reached_init(boot):
    assert boot.matched, "%s did not reach the master's init in %d s (log %s); console ends:\n%s" % (
        boot.name, BOOT_TIMEOUT, boot.log_path, boot.excerpt())


def no_panic(boot):
    assert "Kernel panic" not in boot.text, "kernel panic (log %s):\n%s" % (boot.log_path, boot.excerpt())


@pytest.fixture(scope="module")
def token():
    return secrets.token_hex(8)


def two_at_once(first, second):
    """Run two boots side by side (the machine has two cores; never more)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        a, b = pool.submit(first), pool.submit(second)
        return a.result(), b.result()


@pytest.fixture(scope="module")
def good_boots(blades, token):
    return two_at_once(
        lambda: boot_master(blades, "b1", "rotest,owners,persist-write:" + token, "b1-first"),
        lambda: boot_master(blades, "b2", "rotest,owners,persist-write:" + token[::-1], "b2-first"))


UPDATE = "/etc/dim-update"


@pytest.fixture(scope="module")
def second_boots(blades, good_boots, image_server, token):
    """Both blades again: b1 over NFSv3 (dim.nfs=3), b2 as before; the image
    server has staged an RW update for b1 meanwhile (as dim sync_image does)."""
    pending = os.path.join(b1_rw_dir(image_server), "pending")
    os.makedirs(pending + os.path.dirname(UPDATE), exist_ok=True)
    with open(pending + UPDATE, "w") as f:
        f.write("update-" + token + "\n")
    with open(os.path.join(pending, ".dim-remove"), "w") as f:
        f.write("/etc/hostname\n")
    return two_at_once(
        lambda: boot_master(blades, "b1", "persist-read,cat:%s,cat:/etc/hostname" % UPDATE,
                            "b1-second", extra="dim.nfs=3"),
        lambda: boot_master(blades, "b2", "persist-read", "b2-second"))


@pytest.fixture(scope="module")
def b1_boot(good_boots):
    return good_boots[0]


@pytest.fixture(scope="module")
def b2_boot(good_boots):
    return good_boots[1]


@pytest.fixture(scope="module")
def failing_boots(blades, image_server):
    """An unknown MAC (no lease) beside, one after the other, b3 (its RO
    export does not exist) and b2 told on the command line to take b1's RW
    directory (exported to b1's address only); each until its step failed."""
    def b3():
        return blades.boot("b3", BLADES["b3"][0], append=APPEND,
                           until=DIM_LINE + r" ro-mount: failed:", count=2,
                           timeout=BOOT_TIMEOUT, log_name="b3-missing-ro")

    def b2_steals():
        rw = "%s:%s" % (SERVER, b1_rw_dir(image_server))
        return blades.boot("b2", BLADES["b2"][0], append="%s dim.rw=%s" % (APPEND, rw),
                           until=DIM_LINE + r" rw-mount: failed:", count=1,
                           timeout=BOOT_TIMEOUT, log_name="b2-takes-b1-rw")

    unknown, (missing, steal) = two_at_once(
        lambda: blades.boot("bx", UNKNOWN_MAC, append=APPEND, until=DIM_LINE + r" dhcp: failed:",
                            count=2, timeout=BOOT_TIMEOUT, log_name="unknown-mac"),
        lambda: (b3(), b2_steals()))
    return unknown, missing, steal


def b1_rw_dir(server):
    return os.path.join(os.path.realpath(server.root), "images", "master", "blades", "b1")


def retries(failed):
    """Each failure line announces the next attempt; none may be lost."""
    nums = []
    for l in failed:
        m = re.search(r"; retry (\d+) in \d+(\.\d+)? s$", l)
        assert m, "failure line without '; retry N in S s': " + l
        nums.append(int(m.group(1)))
    assert nums == list(range(1, len(nums) + 1)), "retry numbers %s: console lines lost?" % nums


# ------------------------------------------------------------------ (a) boots

def test_bind_mode_boots_into_master_init(b1_boot):
    reached_init(b1_boot)
    no_panic(b1_boot)
    m = marker(b1_boot)
    assert m["host"] == "b1"
    assert m["addr"] == BLADES["b1"][1]
    assert m["mode"] == "bind"
    assert m["root"] == "ext4", "bind mode: the RW image (ext4) is the root"


def test_overlay_mode_boots_into_master_init(b2_boot):
    reached_init(b2_boot)
    no_panic(b2_boot)
    m = marker(b2_boot)
    assert m["host"] == "b2"
    assert m["addr"] == BLADES["b2"][1]
    assert m["mode"] == "overlay"
    assert m["root"] == "overlay"


@pytest.mark.parametrize("which", ["b1_boot", "b2_boot"])
def test_timeline_before_exec_init(request, which):
    boot = request.getfixturevalue(which)
    reached_init(boot)
    tl = boot.timeline()
    assert tl is not None, "no 'init: timeline' line (log %s)" % boot.log_path
    missing = [s for s in TIMELINE_STEPS if s not in tl]
    assert not missing, "timeline lacks %s: %s" % (missing, boot.lines("init: timeline"))
    assert 0 < tl["total"] < BOOT_TIMEOUT
    assert all(v >= 0 for v in tl.values())
    assert boot.lines(DIM_LINE + r" init: exec /sbin/init"), "no 'init: exec /sbin/init' line"
    # The timeline is printed before the exec, the marker after it.
    assert boot.text.index("init: timeline") < boot.text.index("DIM-MARKER")


# ------------------------------------------------------------------ (b) read-only

def rotest(boot):
    reached_init(boot)
    m = re.search(r"^DIM-ROTEST usr=(ok|fail: [^\n]*?) ro=(ok|fail: [^\n]*)$", boot.text, re.M)
    assert m, "no DIM-ROTEST line (log %s)" % boot.log_path
    return m.group(1), m.group(2)


def test_bind_mode_shared_dirs_are_read_only(b1_boot):
    usr, ro = rotest(b1_boot)
    assert usr.startswith("fail"), "bind mode: /usr is a read-only bind of the RO tree, yet: " + usr
    assert ro.startswith("fail"), "/run/dim/ro must not be writable, yet: " + ro


def test_overlay_mode_ro_tree_is_read_only(b2_boot):
    usr, ro = rotest(b2_boot)
    assert ro.startswith("fail"), "/run/dim/ro must not be writable, yet: " + ro
    assert usr == "ok", "overlay mode: writes to /usr go to the upper layer, yet: " + usr


@pytest.mark.parametrize("which", ["b1_boot", "b2_boot"])
def test_nfs_owners_are_numeric(request, which):
    """NFSv4 must hand blades the server's numeric owners, not nobody
    (4294967294): an unmodified distribution's mount units fail otherwise."""
    boot = request.getfixturevalue(which)
    reached_init(boot)
    m = re.search(r"^DIM-OWNERS ro-etc=(\S+) ro-user=(\S+) usr=(\S+)$", boot.text, re.M)
    assert m, "no DIM-OWNERS line (log %s)" % boot.log_path
    assert m.group(1) == "0:0", "RO tree /etc owned by %s" % m.group(1)
    assert m.group(2) == "1000:1000", "RO tree user file owned by %s" % m.group(2)
    assert m.group(3) == "0:0", "/usr owned by %s" % m.group(3)


# ------------------------------------------------------------------ (c) persistence

@pytest.mark.parametrize("index,name", [(0, "b1"), (1, "b2")])
def test_rw_image_persists_across_reboots(good_boots, second_boots, token, index, name):
    """A file written in the RW tree is there after a reboot: in bind mode in
    the image itself, in overlay mode in the image's upper layer (which needs
    the RO tree readable by the blade's root: /root is 0700)."""
    first, again = good_boots[index], second_boots[index]
    want = token if name == "b1" else token[::-1]
    reached_init(first)
    assert first.lines(r"^DIM-PERSIST-WROTE %s$" % want), \
        "first boot did not write the token (log %s)" % first.log_path
    assert first.returncode == 0, "first boot did not power off cleanly (QEMU rc %s)" % first.returncode
    reached_init(again)
    got = again.lines(r"^DIM-PERSIST-READ ")
    assert got, "no DIM-PERSIST-READ line (log %s)" % again.log_path
    assert got[-1] == "DIM-PERSIST-READ " + want


def test_staged_rw_update_is_installed_at_boot(second_boots, image_server, token):
    """What the image server staged in the blade's RW directory (pending/) is
    in the blade's root at its next boot, removals included, and is gone from
    the server afterwards."""
    boot = second_boots[0]
    reached_init(boot)
    assert boot.lines(DIM_LINE + r" rw-update: installed 1 files and \d+ directories, removed 1 paths"), \
        boot.lines("rw-update")
    assert boot.lines(r"^DIM-CAT %s update-%s $" % (UPDATE, token)), boot.lines("DIM-CAT")
    assert boot.lines(r"^DIM-CAT /etc/hostname NONE$"), boot.lines("DIM-CAT")
    rw = b1_rw_dir(image_server)
    assert not [n for n in os.listdir(rw) if n.startswith("pending")], os.listdir(rw)


def test_nfs_v3_on_request(second_boots):
    """dim.nfs=3 on the command line overrides DHCP and the default (4.1)."""
    boot = second_boots[0]
    reached_init(boot)
    assert boot.lines(DIM_LINE + r" ro-mount: .* \(NFS 3, read-only\)$"), boot.lines("ro-mount")
    assert boot.lines(DIM_LINE + r" rw-mount: .* \(NFS 3\);"), boot.lines("rw-mount")
    assert marker(boot)["host"] == "b1"


# ------------------------------------------------------------------ (d) failures retry, never panic

def test_unknown_mac_gets_no_lease_and_dhcp_retries(failing_boots):
    boot = failing_boots[0]
    assert boot.matched, "expected two 'dhcp: failed:' lines in %d s (log %s); console ends:\n%s" % (
        BOOT_TIMEOUT, boot.log_path, boot.excerpt())
    retries(boot.lines(DIM_LINE + r" dhcp: failed:"))
    assert boot.returncode is None, "QEMU exited: PID 1 must keep retrying"
    no_panic(boot)
    assert not boot.lines(DIM_LINE + r" ro-mount:"), "got past DHCP without a lease?"


def test_missing_ro_export_is_named_and_retried(failing_boots):
    boot = failing_boots[1]
    assert boot.matched, "expected two 'ro-mount: failed:' lines in %d s (log %s); console ends:\n%s" % (
        BOOT_TIMEOUT, boot.log_path, boot.excerpt())
    failed = boot.lines(DIM_LINE + r" ro-mount: failed:")
    assert all(B3_MISSING_RO in l for l in failed), "the failure must name %s: %s" % (B3_MISSING_RO, failed)
    retries(failed)
    assert boot.returncode is None, "QEMU exited: PID 1 must keep retrying"
    no_panic(boot)


def test_rw_export_is_only_for_its_blade(failing_boots, image_server):
    """b1's RW directory is exported to b1's address only: b2 asking for it
    (dim.rw= on its command line) is refused, the linuxrc says so and retries."""
    boot = failing_boots[2]
    assert boot.matched, "b2 was not refused b1's RW directory in %d s (log %s); console ends:\n%s" % (
        BOOT_TIMEOUT, boot.log_path, boot.excerpt())
    failed = boot.lines(DIM_LINE + r" rw-mount: failed:")
    assert b1_rw_dir(image_server) in failed[0], "the failure must name b1's RW directory: %s" % failed
    retries(failed)
    assert not boot.lines(r"^DIM-MARKER"), "b2 booted on b1's RW image"
    no_panic(boot)
