# SPDX-License-Identifier: MIT
"""dim bctool and dim bcadmin against real agents.

Two simulated BladeCenter management modules (Debian's snmpd with
tests/snmp/bcsim as pass_persist, one per module) on the definition's own
management module addresses inside a network namespace the tests create, and
Debian's ipmi_sim as a rack node's BMC:

- a SET to power on is seen by the next GET (dim's and snmpget's);
- an empty bay is refused before any SET; bcadmin lists it as empty;
- a wrong community and wrong SNMPv3 credentials fail with a clear message;
  a dead module fails within its stated bound while the other is served;
- SNMPv3 authPriv with SHA/AES and SHA/DES;
- the simulator cross-checked with fence_ibmblade (fence-agents);
- a credentials file others can read is refused; no secret is printed;
- discovery end to end: the state has the MAC, dim dhcp's file the host
  entry; a MAC on two bays, a moved blade and a definition's MAC are refused;
  the wait for bladeInventoryReady;
- bcadmin power on staggers the bays;
- IPMI against ipmi_sim: power follows, the password is never in argv.

Needs root (namespaces).  Every daemon is stopped by its PID and the
namespace deleted.
"""

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "snmp"))
import mmsim  # noqa: E402

SMALL = os.path.join(REPO, "config", "small.xml")
BC = ".1.3.6.1.4.1.2.3.51.2"
MM = {"s01c1": "10.78.0.10", "s02c1": "10.78.1.10"}
BMC_S02C1B01 = "10.79.1.11"     # <bmc base="10.79.0.11" strides like the blades'>


def need(cond, why):
    if not cond:
        pytest.exit("e2e (bctool): " + why, returncode=3)


@pytest.fixture(scope="module")
def dim():
    o = os.environ.get("O")
    need(o and os.path.isabs(o), "set O to the absolute build directory (make test-e2e does)")
    need(os.geteuid() == 0, "needs root (network namespaces)")
    path = os.path.join(o, "bin", "dim")
    need(os.access(path, os.X_OK), "%s is not built" % path)
    for tool in ("snmpd", "snmpget", "ipmi_sim", "ipmitool", "fence_ibmblade", "ip", "ss"):
        need(shutil.which(tool), "%s is missing: run tests/deps.sh check" % tool)
    return path


class Net:
    """A namespace whose loopback holds the modules' and the BMC's addresses."""

    def __init__(self):
        self.ns = "dimbc%d" % os.getpid()

    def up(self):
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True)
        for a in list(MM.values()) + [BMC_S02C1B01]:
            subprocess.run(["ip", "-n", self.ns, "addr", "add", a + "/32", "dev", "lo"],
                           check=True)

    def down(self):
        subprocess.run(["ip", "netns", "del", self.ns], stderr=subprocess.DEVNULL)


def definition(tmp, macs=True, ipmi=False):
    """config/small.xml with the tests' credentials files (and optionally no <mac>
    lines, or s02c1 as IPMI rack nodes)."""
    with open(SMALL) as f:
        x = f.read()
    x = x.replace('file="/etc/dim/secrets/bc"', 'file="%s/bc"' % tmp)
    x = x.replace('storage="/var/lib/dim"', 'storage="%s/storage"' % tmp)
    if not macs:
        x = re.sub(r'\s*<mac node="[^"]*" address="[^"]*"/>', "", x)
    if ipmi:
        x = x.replace('<credentials name="bc"',
                      '<credentials name="rack" type="ipmi" file="%s/rack"/>\n  '
                      '<credentials name="bc"' % tmp)
        x = re.sub(r'(<chassis credentials="bc">.*?)</chassis>',
                   r'\1  <use nodes="s02c1" credentials="rack"/>\n  </chassis>', x, flags=re.S)
        x = x.replace("</blades>",
                      '  <bmc base="10.79.0.11" strides="server:0.0.1.0 chassis:14 blade:1"/>\n'
                      "  </blades>")
    path = os.path.join(tmp, "ipmi.xml" if ipmi else "cluster.xml" if macs else "nomac.xml")
    with open(path, "w") as f:
        f.write(x)
    return path


def secrets(tmp, name, lines, mode=0o600):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write("".join(l + "\n" for l in lines))
    os.chmod(path, mode)
    return path


V2C = ["version=2c", "community=" + mmsim.COMMUNITY, "timeout=500", "retries=0"]


class Lab:
    def __init__(self, dim, net, tmp):
        self.dim, self.net, self.tmp = dim, net, tmp
        self.events = os.path.join(tmp, "events.log")
        self.cluster = definition(tmp)
        self.nomac = definition(tmp, macs=False)
        self.state = os.path.join(tmp, "state.db")
        self.sims = {}

    def chassis_config(self, name, **kw):
        present = kw.pop("present", [1, 2, 3])
        return mmsim.chassis(name, bays=4, present=present, log=self.events, **kw)

    def start(self):
        # s01c1: bays 1-3 hold blades, bay 4 is empty; s02c1 likewise (its bay 4 is <absent>).
        for name, addr in MM.items():
            s = mmsim.MMSim(os.path.join(self.tmp, name), addr, self.chassis_config(name),
                            ns=self.net.ns)
            self.sims[name] = s.start()

    def stop(self):
        for s in self.sims.values():
            s.stop()

    def run(self, args, cluster=None, check=None, state=None):
        argv = ["ip", "netns", "exec", self.net.ns, self.dim] + args[:1] + [
            "-c", cluster or self.cluster, "--state", state or self.state] + args[1:]
        t0 = time.monotonic()
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=120)
        p.seconds = time.monotonic() - t0
        if check is not None and p.returncode != check:
            raise AssertionError("%s: exit %d (wanted %d)\nstdout:\n%s\nstderr:\n%s" % (
                " ".join(argv), p.returncode, check, p.stdout, p.stderr))
        return p

    def snmpget(self, chassis, oid):
        p = subprocess.run(["ip", "netns", "exec", self.net.ns, "snmpget", "-v2c", "-c",
                            mmsim.COMMUNITY, "-Oqv", MM[chassis], oid],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True)
        return p.stdout.strip()

    def events_of(self, chassis):
        try:
            with open(self.events) as f:
                lines = [l.split() for l in f]
        except FileNotFoundError:
            return []
        return [(float(t), int(bay), what) for t, ch, bay, what in lines if ch == chassis]


@pytest.fixture(scope="module")
def lab(dim):
    tmp = tempfile.mkdtemp(prefix="dim-bctool-")
    net = Net()
    net.up()
    lab = Lab(dim, net, tmp)
    try:
        lab.start()
        secrets(tmp, "bc", V2C)
        yield lab
    finally:
        lab.stop()
        net.down()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def v2c(lab):
    secrets(lab.tmp, "bc", V2C)
    return lab


def test_power_on_seen_by_next_get(v2c):
    lab = v2c
    p = lab.run(["bctool", "s01c1b02", "state"], check=0)
    assert p.stdout.splitlines()[0] == "s01c1b02: off"
    assert lab.snmpget("s01c1", BC + ".22.1.5.1.1.4.2") == "0"
    p = lab.run(["bctool", "s01c1b02", "on"], check=0)
    assert "s01c1b02: on (was off)" in p.stdout
    assert "1 blade: 1 ok, 0 failed" in p.stdout
    # an independent client sees the SET at once
    assert lab.snmpget("s01c1", BC + ".22.1.5.1.1.4.2") == "1"
    assert (2, "on") in [(b, w) for _, b, w in lab.events_of("s01c1")]
    p = lab.run(["bctool", "s01c1b02", "state"], check=0)
    assert p.stdout.splitlines()[0] == "s01c1b02: on"
    lab.run(["bctool", "s01c1b02", "off"], check=0)
    assert lab.snmpget("s01c1", BC + ".22.1.5.1.1.4.2") == "0"
    # reset of an off blade is refused, of a running one sent
    p = lab.run(["bctool", "s01c1b02", "reset"], check=1)
    assert "not reset" in p.stdout
    lab.run(["bctool", "s01c1b02", "on"], check=0)
    lab.run(["bctool", "s01c1b02", "reset"], check=0)
    assert lab.events_of("s01c1")[-1][1:] == (2, "reset")
    p = lab.run(["bctool", "s01c1b02", "cycle", "--cycle-wait", "100"], check=0)
    assert "cycled, now on" in p.stdout
    assert [w for _, b, w in lab.events_of("s01c1")][-2:] == ["off", "on"]
    lab.run(["bctool", "s01c1b02", "off"], check=0)


def test_empty_bay_refused(v2c):
    lab = v2c
    before = len(lab.events_of("s01c1"))
    p = lab.run(["bctool", "s01c1b03-s01c1b04", "on"], check=1)
    lines = p.stdout.splitlines()
    assert lines[0] == "s01c1b03: on (was off)"
    assert lines[1].startswith("s01c1b04: failed: bay 4 of s01c1 is empty")
    assert "2 blades: 1 ok, 1 failed" in p.stdout
    # nothing was sent to bay 4
    assert [b for _, b, _ in lab.events_of("s01c1")[before:]] == [3]
    p = lab.run(["bcadmin", "s01c1", "list"], check=0)
    assert re.search(r"^s01c1 bay 4 s01c1b04: empty bay$", p.stdout, re.M)
    assert re.search(r'^s01c1: s01c1mm 10\.78\.0\.10: name "s01c1" .* installed 1110$',
                     p.stdout, re.M)
    lab.run(["bctool", "s01c1b03", "off"], check=0)


def test_macs_and_inventory(v2c):
    p = v2c.run(["bctool", "s01c1b01-s01c1b03", "macs"], check=0)
    tag = sum(ord(x) for x in "s01c1") & 0xff
    assert "s01c1b01: 1=00:1a:64:%02x:01:01 2=00:1a:64:%02x:01:02" % (tag, tag) in p.stdout
    p = v2c.run(["bctool", "s01c1b01", "inventory"], check=0)
    assert "type 8853 model AC1 serial SNs01c101" in p.stdout


def test_v1_community(lab):
    secrets(lab.tmp, "bc", ["version=1", "community=" + mmsim.COMMUNITY, "timeout=500"])
    p = lab.run(["bctool", "s01c1b03", "on"], check=0)
    assert "s01c1b03: on (was off)" in p.stdout
    assert lab.snmpget("s01c1", BC + ".22.1.5.1.1.4.3") == "1"
    lab.run(["bctool", "s01c1b03", "off"], check=0)
    # a read-only community: the module refuses the SET, dim says so
    secrets(lab.tmp, "bc", ["version=2c", "community=" + mmsim.COMMUNITY + "-ro"])
    p = lab.run(["bctool", "s01c1b03", "on"], check=1)
    assert "s01c1b03: failed:" in p.stdout and "the module says" in p.stdout
    assert lab.snmpget("s01c1", BC + ".22.1.5.1.1.4.3") == "0"


def test_wrong_community(lab):
    secrets(lab.tmp, "bc", ["community=not-the-one", "timeout=300", "retries=0"])
    p = lab.run(["bctool", "s01c1b01-s01c1b02", "state"], check=1)
    assert p.stdout.count("no answer to bladeExists after 1 try of 300 ms") == 2
    assert "wrong community" in p.stdout
    assert "not-the-one" not in p.stdout + p.stderr
    assert p.seconds < 3


@pytest.mark.parametrize("user,auth,priv", [("mmsha", "authpass-1", "AES"),
                                            ("mmdes", "authpass-2", "DES")])
def test_v3_authpriv(lab, user, auth, priv):
    a, ap, p_, pp = mmsim.V3_USERS[user]
    secrets(lab.tmp, "bc", ["version=3", "user=" + user, "auth=SHA", "auth-password=" + ap,
                            "priv=" + priv, "priv-password=" + pp])
    p = lab.run(["bctool", "s01c1b01", "on"], check=0)
    assert "s01c1b01: on" in p.stdout
    assert lab.snmpget("s01c1", BC + ".22.1.5.1.1.4.1") == "1"
    lab.run(["bctool", "s01c1b01", "off"], check=0)
    # wrong auth password: the module says so at once
    secrets(lab.tmp, "bc", ["user=" + user, "auth-password=wrong-pass-9", "priv=" + priv,
                            "priv-password=" + pp, "timeout=300", "retries=0"])
    p = lab.run(["bctool", "s01c1b01", "state"], check=1)
    assert "Authentication failure" in p.stdout
    assert "wrong-pass-9" not in p.stdout + p.stderr
    # unknown user
    secrets(lab.tmp, "bc", ["user=nobody", "auth-password=" + ap, "timeout=300", "retries=0"])
    p = lab.run(["bctool", "s01c1b01", "state"], check=1)
    assert "Unknown user name" in p.stdout
    # wrong priv password: unanswered, bounded
    secrets(lab.tmp, "bc", ["user=" + user, "auth-password=" + ap, "priv=" + priv,
                            "priv-password=wrong-priv-9", "timeout=300", "retries=0"])
    p = lab.run(["bctool", "s01c1b01", "state"], check=1)
    assert "no answer" in p.stdout and "priv password" in p.stdout
    assert p.seconds < 3


def test_dead_module_times_out_within_bound(lab):
    secrets(lab.tmp, "bc", V2C[:2] + ["timeout=400", "retries=1"])
    s = lab.sims["s02c1"]
    s.stop()
    try:
        p = lab.run(["bctool", "s01c1b01,s02c1b01-s02c1b03", "state"], check=1)
    finally:
        s.start()
    lines = p.stdout.splitlines()
    assert lines[0] == "s01c1b01: off"          # the live module is served
    for i in (1, 2, 3):
        assert lines[i].startswith("s02c1b0%d: failed: s02c1mm 10.78.1.10: no answer to "
                                   "bladeExists after 2 tries of 400 ms" % i)
    # the stated bound: (retries + 1) x timeout for the module, not per blade
    assert p.seconds < 2 * 0.4 + 1.0, p.seconds


def test_secrets_file_refused_and_never_printed(lab):
    secrets(lab.tmp, "bc", V2C, mode=0o640)
    p = lab.run(["bctool", "s01c1b01", "state"], check=1)
    assert "group or others may use it (mode 0640): refused" in p.stderr
    assert mmsim.COMMUNITY not in p.stdout + p.stderr
    secrets(lab.tmp, "bc", V2C + ["colour=blue"])
    p = lab.run(["bctool", "s01c1b01", "state"], check=1)
    assert 'bc:5: unknown key "colour"' in p.stderr and "blue" not in p.stderr
    secrets(lab.tmp, "bc", ["version=3", "user=mmsha", "auth-password=short"])
    p = lab.run(["bctool", "s01c1b01", "state"], check=1)
    assert "auth-password: wants 8 to 127" in p.stderr and "short" not in p.stderr.split(":")[-1]


def test_cross_check_with_fence_ibmblade(v2c):
    lab = v2c

    def fence(*args):
        return subprocess.run(["ip", "netns", "exec", lab.net.ns, "fence_ibmblade", "-a",
                               MM["s01c1"], "-d", "2c", "-c", mmsim.COMMUNITY] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    assert fence("-n", "3", "-o", "on").returncode == 0
    p = lab.run(["bctool", "s01c1b03", "state"], check=0)
    assert p.stdout.startswith("s01c1b03: on")
    lab.run(["bctool", "s01c1b03", "off"], check=0)
    st = fence("-n", "3", "-o", "status")
    assert st.returncode == 2 and "OFF" in st.stdout      # fence agents: 2 = off
    lst = fence("-o", "list")
    assert lst.returncode == 0 and "1," in lst.stdout
    # SNMPv3 SHA/DES through fence_ibmblade too
    a, ap, p_, pp = mmsim.V3_USERS["mmdes"]
    v3 = subprocess.run(["ip", "netns", "exec", lab.net.ns, "fence_ibmblade", "-a", MM["s01c1"],
                         "-d", "3", "-l", "mmdes", "-p", ap, "-b", "SHA", "-B", "DES", "-P", pp,
                         "-E", "authPriv", "-n", "3", "-o", "status"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert v3.returncode == 2, v3.stdout


def state_macs(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        t = "macs"
        cols = [r[1] for r in db.execute("pragma table_info(%s)" % t)]
        return dict(db.execute("select %s, %s from %s" % (cols[0], cols[1], t)).fetchall())
    finally:
        db.close()


def test_discover_end_to_end(v2c):
    lab = v2c
    tag1 = sum(ord(x) for x in "s01c1") & 0xff
    state = os.path.join(lab.tmp, "discover.db")
    out = os.path.join(lab.tmp, "dhcp")
    # the module's inventory is not ready for 2 s: discover waits for it
    lab.sims["s01c1"].set_config(lab.chassis_config("s01c1", delay=2.0))
    p = lab.run(["bctool", "s01c1b01-s01c1b03", "discover", "--update-dhcp", "-o", out],
                cluster=lab.nomac, state=state, check=0)
    assert p.seconds >= 1.5
    mac1 = "00:1a:64:%02x:01:01" % tag1
    assert "s01c1b01: %s recorded" % mac1 in p.stdout
    macs = state_macs(state)
    assert macs["s01c1b01"] == mac1 and len(macs) == 3
    conf = open(os.path.join(out, "s01", "dim-dhcpd.conf")).read()
    assert re.search(r"host s01c1b01 \{[^}]*hardware ethernet %s;[^}]*fixed-address 10\.77\.0\.11;"
                     % mac1, conf), conf
    assert "checked by dhcpd" in p.stdout
    # the same again: unchanged
    p = lab.run(["bctool", "s01c1b01", "discover"], cluster=lab.nomac, state=state, check=0)
    assert "s01c1b01: %s (unchanged)" % mac1 in p.stdout

    # a blade moved: s02c1 bay 1 now holds the blade recorded for s01c1b01
    moved = lab.chassis_config("s02c1", macs={1: [mac1.upper()]})
    lab.sims["s02c1"].set_config(moved)
    p = lab.run(["bctool", "s02c1b01", "discover"], cluster=lab.nomac, state=state, check=1)
    assert "s02c1b01: conflict: %s is recorded for s01c1b01 (the blade moved?" % mac1 in p.stdout
    assert "1 blade not recorded" in p.stderr
    assert state_macs(state) == macs
    p = lab.run(["bctool", "s02c1b01", "discover", "--force"], cluster=lab.nomac, state=state,
                check=0)
    assert "taken from s01c1b01" in p.stdout
    assert state_macs(state)["s02c1b01"] == mac1 and "s01c1b01" not in state_macs(state)

    # one MAC on two bays: neither recorded
    dup = lab.chassis_config("s02c1", macs={2: ["00:1A:64:99:00:01"], 3: ["00:1a:64:99:00:01"]})
    lab.sims["s02c1"].set_config(dup)
    before = state_macs(state)
    p = lab.run(["bctool", "s02c1b02-s02c1b03", "discover", "--force"], cluster=lab.nomac,
                state=state, check=1)
    assert p.stdout.count("is also reported for") == 2
    assert state_macs(state) == before

    # the definition gives the MAC to another blade: refused even with --force
    mine = lab.chassis_config("s02c1", macs={2: ["Not Installed", "52:54:00:00:01:01 -> 52:54:00:00:01:08"]})
    lab.sims["s02c1"].set_config(mine)
    p = lab.run(["bctool", "s02c1b02", "discover", "--force"], state=state, check=1)
    assert "52:54:00:00:01:01 is the MAC the definition gives s01c1b01" in p.stdout

    # not ready within --wait
    lab.sims["s02c1"].set_config(lab.chassis_config("s02c1", delay=30))
    p = lab.run(["bctool", "s02c1b03", "discover", "--wait", "1"], cluster=lab.nomac,
                state=state, check=1)
    assert "inventory not ready after 1 s" in p.stdout
    lab.sims["s01c1"].set_config(lab.chassis_config("s01c1"))
    lab.sims["s02c1"].set_config(lab.chassis_config("s02c1"))


def test_bcadmin_staggers_power_on(v2c):
    lab = v2c
    lab.run(["bcadmin", "s01c1", "power", "off"], check=0)
    t0 = time.time()
    p = lab.run(["bcadmin", "s01c1", "power", "on", "--stagger", "400"], check=0)
    ons = [(t, b) for t, b, w in lab.events_of("s01c1") if w == "on" and t >= t0 - 0.01]
    assert [b for _, b in ons] == [1, 2, 3]
    gaps = [ons[i + 1][0] - ons[i][0] for i in range(len(ons) - 1)]
    assert min(gaps) >= 0.38, gaps
    assert "1 chassis, 3 blades, 1 empty bay: 0 failed" in p.stdout
    p = lab.run(["bcadmin", "mm1", "power", "state"], check=0)
    assert p.stdout.count(": on\n") == 3
    lab.run(["bcadmin", "s01c1", "power", "off", "-q"], check=0)


def test_ipmi_against_ipmi_sim(lab, tmp_path):
    cluster = definition(lab.tmp, ipmi=True)
    secrets(lab.tmp, "rack", ["user=admin", "password=sim-secret-1", "timeout=1000",
                              "retries=0"])
    secrets(lab.tmp, "bc", V2C)
    bmc = mmsim.IPMISim(str(tmp_path / "bmc"), BMC_S02C1B01, ns=lab.net.ns).start()
    # ipmitool behind a wrapper that records its argv and whether the password came in env
    wrap = tmp_path / "bin"
    wrap.mkdir()
    argv_log = tmp_path / "argv.log"
    (wrap / "ipmitool").write_text(
        "#!/bin/sh\nprintf '%%s\\n' \"$*\" >>%s\n[ -n \"$IPMI_PASSWORD\" ] && echo env-ok >>%s\n"
        "exec %s \"$@\"\n" % (argv_log, argv_log, shutil.which("ipmitool")))
    os.chmod(wrap / "ipmitool", 0o755)
    try:
        env_argv = ["env", "PATH=%s:%s" % (wrap, os.environ["PATH"])]
        argv = ["ip", "netns", "exec", lab.net.ns] + env_argv + [lab.dim, "bctool", "-c",
                                                                 cluster, "--state", lab.state]
        run = lambda *a: subprocess.run(argv + list(a), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, timeout=60)
        p = run("s02c1b01", "on")
        assert p.returncode == 0, p.stdout + p.stderr
        assert "s02c1b01: on (was off)" in p.stdout
        assert bmc.power() == "1"
        p = run("s02c1b01", "state")
        assert p.stdout.startswith("s02c1b01: on")
        p = run("s02c1b01", "off")
        assert p.returncode == 0 and bmc.power() == "0"
        # MACs are not IPMI's: a clear refusal
        p = run("s02c1b01", "macs")
        assert p.returncode == 1 and "IPMI reports no MAC addresses" in p.stdout
        # the SNMP chassis of the same definition still works
        p = run("s01c1b01", "state")
        assert p.returncode == 0
        log = argv_log.read_text()
        assert "sim-secret-1" not in log and "env-ok" in log and "-E" in log
        # a wrong password
        secrets(lab.tmp, "rack", ["user=admin", "password=not-it", "timeout=1000", "retries=0"])
        p = run("s02c1b01", "state")
        assert p.returncode == 1 and "BMC %s" % BMC_S02C1B01 in p.stdout
        assert "not-it" not in p.stdout + p.stderr
    finally:
        bmc.stop()


def test_usage(lab):
    p = lab.run(["bctool", "s01c1b01", "explode"], check=2)
    assert "unknown operation explode" in p.stderr
    p = lab.run(["bctool", "s01c1b01", "on", "--force"], check=2)
    p = lab.run(["bcadmin", "s01c1", "power", "sideways"], check=2)
    p = lab.run(["bctool", "nosuchblade", "state"], check=1)
    p = subprocess.run([lab.dim, "bctool", "--help"], stdout=subprocess.PIPE, text=True)
    assert p.returncode == 0 and "discover" in p.stdout
    p = subprocess.run([lab.dim, "--help"], stdout=subprocess.PIPE, text=True)
    assert re.search(r"^  bctool ", p.stdout, re.M) and re.search(r"^  bcadmin ", p.stdout, re.M)


def test_qemu_follows_power(v2c, tmp_path):
    """tests/snmp/follow starts a QEMU process when the module powers the bay on
    and stops it on off (an empty machine here: the demo passes qemu/blade)."""
    lab = v2c
    qemu = shutil.which("qemu-system-x86_64") or shutil.which("qemu-system-ppc64")
    if not qemu:
        pytest.fail("no QEMU")
    lab.run(["bctool", "s01c1b01", "off"], check=0)
    pidfile = tmp_path / "blade.pid"
    f = subprocess.Popen([os.path.join(REPO, "tests", "snmp", "follow"), lab.events, "s01c1", "1",
                          "--pidfile", str(pidfile), "--", qemu, "-M", "none", "-nodefaults",
                          "-display", "none", "-monitor", "none", "-serial", "none"],
                         stderr=subprocess.DEVNULL)

    def wait_for(cond, seconds=10):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if cond():
                return True
            time.sleep(0.05)
        return False

    try:
        time.sleep(0.3)     # the follower reads from the log's end
        lab.run(["bctool", "s01c1b01", "on"], check=0)
        assert wait_for(pidfile.exists)
        pid = int(pidfile.read_text())
        assert open("/proc/%d/comm" % pid).read().startswith("qemu-system")
        lab.run(["bctool", "s01c1b02", "on"], check=0)      # another bay: no effect
        lab.run(["bctool", "s01c1b01", "off"], check=0)
        assert wait_for(lambda: not os.path.exists("/proc/%d" % pid) and not pidfile.exists())
        lab.run(["bctool", "s01c1b02", "off"], check=0)
    finally:
        f.terminate()
        f.wait(15)
