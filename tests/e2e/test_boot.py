# SPDX-License-Identifier: MIT
"""Boot virtual PowerPC blades from a virtual image server, for real.

Each boot runs Debian's ppc64el kernel under QEMU (TCG) with dim's initramfs;
the linuxrc gets its settings by DHCP, mounts the RO tree and the blade's RW
image over NFS, assembles the root and execs the test master's /sbin/init
(tests/master/init), which prints DIM-* lines and powers off.
"""

import re
import secrets

import pytest

from conftest import B3_MISSING_RO, BLADES, UNKNOWN_MAC
from helpers import DIM_LINE, TIMELINE_STEPS

BOOT_TIMEOUT = 120      # seconds; TCG emulation, so generous
APPEND = "quiet"
MARKER_RE = re.compile(r"^DIM-MARKER host=(\S+) addr=(\S+) mode=(\S+) root=(\S+)", re.M)


def boot_master(blades, name, dimtest, log_name):
    """Boot NAME into the master's init, run DIMTEST, wait for the power-off."""
    mac = BLADES[name][0]
    return blades.boot(name, mac, append="%s dimtest=%s" % (APPEND, dimtest),
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


@pytest.fixture(scope="module")
def b1_boot(blades, token):
    return boot_master(blades, "b1", "rotest,persist-write:" + token, "b1-first")


@pytest.fixture(scope="module")
def b2_boot(blades):
    return boot_master(blades, "b2", "rotest", "b2")


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


# ------------------------------------------------------------------ (c) persistence

def test_rw_image_persists_across_reboots(blades, b1_boot, token):
    reached_init(b1_boot)
    assert b1_boot.lines(r"^DIM-PERSIST-WROTE %s$" % token), \
        "first boot did not write the token (log %s)" % b1_boot.log_path
    assert b1_boot.returncode == 0, "first boot did not power off cleanly (QEMU rc %s)" % b1_boot.returncode
    again = boot_master(blades, "b1", "persist-read", "b1-second")
    reached_init(again)
    got = again.lines(r"^DIM-PERSIST-READ ")
    assert got, "no DIM-PERSIST-READ line (log %s)" % again.log_path
    assert got[-1] == "DIM-PERSIST-READ " + token


# ------------------------------------------------------------------ (d) failures retry, never panic

def test_unknown_mac_gets_no_lease_and_dhcp_retries(blades):
    boot = blades.boot("bx", UNKNOWN_MAC, append=APPEND, until=DIM_LINE + r" dhcp: failed:",
                       count=2, timeout=BOOT_TIMEOUT, log_name="unknown-mac")
    failed = boot.lines(DIM_LINE + r" dhcp: failed:")
    assert boot.matched, "expected two 'dhcp: failed:' lines in %d s (log %s); console ends:\n%s" % (
        BOOT_TIMEOUT, boot.log_path, boot.excerpt())
    assert all(re.search(r"retry \d+ in \d+(\.\d+)? s", l) for l in failed), failed
    assert boot.returncode is None, "QEMU exited: PID 1 must keep retrying"
    no_panic(boot)
    assert not boot.lines(DIM_LINE + r" ro-mount:"), "got past DHCP without a lease?"


def test_missing_ro_export_is_named_and_retried(blades):
    mac = BLADES["b3"][0]
    boot = blades.boot("b3", mac, append=APPEND, until=DIM_LINE + r" ro-mount: failed:",
                       count=2, timeout=BOOT_TIMEOUT, log_name="b3-missing-ro")
    assert boot.matched, "expected two 'ro-mount: failed:' lines in %d s (log %s); console ends:\n%s" % (
        BOOT_TIMEOUT, boot.log_path, boot.excerpt())
    failed = boot.lines(DIM_LINE + r" ro-mount: failed:")
    assert all(B3_MISSING_RO in l for l in failed), "the failure must name %s: %s" % (B3_MISSING_RO, failed)
    assert all(re.search(r"retry \d+ in \d+(\.\d+)? s", l) for l in failed), failed
    assert boot.returncode is None, "QEMU exited: PID 1 must keep retrying"
    no_panic(boot)
