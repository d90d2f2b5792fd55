# SPDX-License-Identifier: MIT
"""`make demo`, CI-sized: qemu/demo with one blade per image server
(DEMO_BLADES=2), the move included, on the kernel build tree test_netboot.py
keeps in $O/kernel (whichever of the two runs first builds it; the other
relinks nothing).

Asserts what the demo claims on its status table: both blades booted
through SLOF from their own server and report the image, address and root
assembly dim gave them; the watcher saw syncit's update without a reboot;
the moved blade came back with the other image; and the teardown left no
namespace and no process of the run.

Run:  make test-e2e PYTEST_ARGS="-k demo"   (as root; about 3 minutes with
the kernel built, plus the kernel build once)
"""

import glob
import os
import re
import shutil
import subprocess
import time

import pytest

import helpers

DEMO = os.path.join(helpers.QEMU_DIR, "demo")
TIMEOUT = 1800      # the kernel build on a busy 2-core machine included


def _need(cond, why):
    if not cond:
        pytest.exit("e2e demo: " + why, returncode=3)


@pytest.fixture(scope="module")
def demo(build_dir):
    for tool in ("qemu-system-ppc64", "in.tftpd", "dhcpd", "ganesha.nfsd", "rpcbind", "snmpd",
                 "rsync", "sshd", "powerpc64le-linux-gnu-gcc"):
        _need(shutil.which(tool) or os.path.exists("/usr/sbin/" + tool),
              "%s is missing: run tests/deps.sh demo" % tool)
    _need(len(glob.glob("/usr/src/linux-source-*.tar.xz")) == 1,
          "want one /usr/src/linux-source-*.tar.xz (tests/deps.sh demo)")
    env = dict(os.environ, O=build_dir, DEMO_BLADES="2")
    env.pop("DEMO_KEEP", None)
    t0 = time.monotonic()
    p = subprocess.run([DEMO], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=TIMEOUT)
    p.seconds = time.monotonic() - t0
    os.makedirs(os.path.join(build_dir, "e2e"), exist_ok=True)
    with open(os.path.join(build_dir, "e2e", "demo.out"), "w") as f:
        f.write(p.stdout)
    return p


def table(out):
    """The status table's rows: {blade: [image, address, mode, root, seconds, boot, seen]}."""
    rows = {}
    lines = out.splitlines()
    head = [i for i, l in enumerate(lines) if re.match(r"^\s+BLADE\s+IMAGE\s+ADDRESS", l)]
    assert head, "no status table in:\n" + out[-4000:]
    for l in lines[head[-1] + 1:]:
        m = re.match(r"^\s+(s\d\dc\db\d\d)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+([\d.]+) s "
                     r"\(boot (\d)\)\s+(\S+)\s*$", l)
        if not m:
            break
        rows[m.group(1)] = list(m.groups()[1:])
    return rows


def test_demo_succeeds(demo):
    assert demo.returncode == 0, demo.stdout[-6000:]
    assert re.search(r"^\s+total\s+[\d.]+ s$", demo.stdout, re.M), demo.stdout[-2000:]


def test_status_table(demo):
    rows = table(demo.stdout)
    # s01c1b01 boots stable (bind), watched syncit's update; s02c1b01 was
    # moved from stable to next (overlay) and booted a second time.
    assert rows.get("s01c1b01") == ["stable", "10.77.0.11", "bind", "ext4"] + rows["s01c1b01"][4:6] + ["yes"], rows
    assert rows["s01c1b01"][5] == "1"
    assert rows.get("s02c1b01")[:4] == ["next", "10.77.1.11", "overlay", "overlay"], rows
    assert rows["s02c1b01"][5] == "2"
    for b, r in rows.items():
        assert 0 < float(r[4]) < 120, (b, r)


def test_netboot_through_slof(demo, build_dir):
    """Each console shows SLOF's DHCP and TFTP of the boot file, no -kernel."""
    logs = os.path.join(build_dir, "demo", "logs")
    for b in ("s01c1b01", "s02c1b01"):
        with open(os.path.join(logs, b + ".console")) as f:
            text = f.read()
        assert "Welcome to Open Firmware" in text, b
        assert re.search(r'Requesting file "(stable|next)/zImage\.of" via TFTP|'
                         r'TFTP: Received (\S+/)?zImage\.of', text), b
    with open(os.path.join(logs, "s02c1b01.console")) as f:
        text = f.read()
    assert text.count("==power== start") == 2
    assert re.search(r"DIM-IMAGE etc=stable usr=stable", text)
    assert re.search(r"DIM-IMAGE etc=next usr=next", text)


def test_teardown_left_nothing(demo, build_dir):
    ns = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, text=True).stdout
    assert not re.search(r"^dimdemo-", ns, re.M), ns
    w = os.path.join(build_dir, "demo")
    for f in ("pids", "namespaces"):
        with open(os.path.join(w, f)) as fh:
            assert fh.read() == ""
    for s in ("s01", "s02"):
        with open(os.path.join(w, s, "pids")) as fh:
            assert fh.read() == ""
    out = subprocess.run(["pgrep", "-af", w], stdout=subprocess.PIPE, text=True).stdout
    assert not out.strip(), "processes of the demo left:\n" + out
