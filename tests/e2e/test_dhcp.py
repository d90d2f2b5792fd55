# SPDX-License-Identifier: MIT
"""dim dhcp against the real DHCP servers.

- golden files: `dim dhcp write` for config/small.xml, per backend, byte for
  byte (DIM_GOLDEN_UPDATE=1 writes them again);
- each backend's output accepted by the daemon's own check (dhcpd -t,
  kea-dhcp4 -t, dnsmasq --test);
- a configuration the check rejects (the admin's main config broken, or a
  host the main config already declares) leaves the live files byte-identical
  and the rejected one for a look; a value that would break the syntax is
  refused before anything is written;
- ISC dhcpd, Kea and dnsmasq, each started in a network namespace on what
  `dim dhcp install` wrote, answer busybox udhcpc in a second namespace (over
  a veth) for a configured MAC with the right address, host name, next-server,
  boot file (IMAGE/KERNEL in the TFTP root), root-path and options 224..229,
  and ignore an unknown MAC; an image whose kernel is an iPXE script (.ipxe)
  also gets iPXE's option 175 with no-pxedhcp = 1, on the wire;
  `dim dhcp assign` and the reload (dhcpd and dnsmasq restarted by a --reload
  command, Kea through its control socket and by SIGHUP) make the new image
  visible to the next request, `dim dhcp mac` a new MAC.

Needs root (namespaces, daemons).  Every daemon is stopped by its PID, the
namespaces are deleted.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SMALL = os.path.join(REPO, "config", "small.xml")
GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "dhcp")
BACKENDS = ("isc", "kea", "dnsmasq")
DAEMONS = {"isc": "dhcpd", "kea": "kea-dhcp4", "dnsmasq": "dnsmasq"}
FILES = {"isc": ["dim-dhcpd.conf"], "kea": ["dim-kea-dhcp4.json"],
         "dnsmasq": ["dim-dnsmasq.conf"]}

SERVER = "10.77.0.1"            # s01 in config/small.xml
B1 = ("s01c1b01", "52:54:00:00:01:01", "10.77.0.11")
UNKNOWN_MAC = "52:54:00:77:00:99"
STORAGE = "/var/lib/dim"


def need(cond, why):
    if not cond:
        pytest.exit("e2e (dhcp): " + why, returncode=3)


@pytest.fixture(scope="module")
def dim():
    o = os.environ.get("O")
    need(o and os.path.isabs(o), "set O to the absolute build directory (make test-e2e does)")
    path = os.path.join(o, "bin", "dim")
    need(os.access(path, os.X_OK), "%s is not built" % path)
    for tool in ("dhcpd", "kea-dhcp4", "dnsmasq", "busybox", "ip"):
        need(shutil.which(tool), "%s is missing: run tests/deps.sh check" % tool)
    return path


def run_dim(dim, args, ns=None, check=True, env=None):
    argv = ([ "ip", "netns", "exec", ns] if ns else []) + [dim] + args
    e = dict(os.environ)
    e.pop("DIM_CLUSTER", None)
    e.pop("DIM_STATE", None)
    e.update(env or {})
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(argv), p.returncode, p.stdout, p.stderr))
    return p


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="dim-dhcp-")
    # World-readable as /etc is: daemons may read their files as their own users.
    os.chmod(d, 0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- golden files and checks

@pytest.mark.parametrize("backend", BACKENDS)
def test_golden(dim, tmp, backend):
    """dim dhcp write for config/small.xml, byte for byte; every file checked."""
    out = os.path.join(tmp, "out")
    p = run_dim(dim, ["dhcp", "write", "-c", SMALL, "--state", os.path.join(tmp, "none.db"),
                      "-b", backend, "-o", out])
    # One line per image server, each checked by the real daemon.
    lines = p.stdout.splitlines()
    assert len(lines) == 2, p.stdout
    for line in lines:
        assert "(checked by %s)" % DAEMONS[backend] in line, line
    # s02c1b03 has no MAC, s02c1b04 is an empty bay (no warning for it).
    assert "s02: no MAC known for 1 blade, no host entry: s02c1b03" in p.stderr
    assert "s02c1b04" not in p.stderr
    update = os.environ.get("DIM_GOLDEN_UPDATE") == "1"
    for server in ("s01", "s02"):
        got_files = sorted(f for f in os.listdir(os.path.join(out, server)))
        assert got_files == sorted(FILES[backend])
        for name in FILES[backend]:
            got = read(os.path.join(out, server, name))
            golden = os.path.join(GOLDEN, backend, server, name)
            if update:
                os.makedirs(os.path.dirname(golden), exist_ok=True)
                with open(golden, "wb") as f:
                    f.write(got)
                continue
            assert os.path.exists(golden), "%s missing: run with DIM_GOLDEN_UPDATE=1" % golden
            assert got == read(golden), "%s/%s differs from %s" % (server, name, golden)
    # The same again: deterministic, and the files say so.
    p = run_dim(dim, ["dhcp", "write", "-c", SMALL, "--state", os.path.join(tmp, "none.db"),
                      "-b", backend, "-o", out])
    assert p.stdout.count("unchanged") == 2, p.stdout


def test_refuses_bad_value(dim, tmp):
    """A value that would break the file is refused before anything changes (here
    by the loader, which knows the line; dim dhcp's own refusals of values that
    get past it are the unit tests')."""
    out = os.path.join(tmp, "out")
    run_dim(dim, ["dhcp", "-c", SMALL, "--state", os.path.join(tmp, "none.db"), "-o", out])
    before = read(os.path.join(out, "s01", "dim-dhcpd.conf"))
    bad = os.path.join(tmp, "bad.xml")
    with open(SMALL) as f:
        text = f.read()
    write(bad, text.replace('kernel="vmlinux" mode="bind"', 'kernel="vmlinux;" mode="bind"'))
    p = run_dim(dim, ["dhcp", "-c", bad, "--state", os.path.join(tmp, "none.db"), "-o", out],
                check=False)
    assert p.returncode == 1, p
    # One message, naming where and what.
    errors = [l for l in p.stderr.splitlines() if l.startswith("dim ")]
    assert len(errors) == 1, p.stderr
    assert "vmlinux;" in p.stderr and "bad.xml:" in p.stderr, p.stderr
    assert read(os.path.join(out, "s01", "dim-dhcpd.conf")) == before
    assert not [f for f in os.listdir(os.path.join(out, "s01")) if ".tmp-" in f]


# Main configurations as an image server's admin keeps them; LIVE is the live directory.
MAIN = {
    "isc": """# dhcpd.conf of the test's image server
ddns-update-style none;
authoritative;
default-lease-time 600;
max-lease-time 600;
include "{live}/dim-dhcpd.conf";
""",
    "kea": """// kea-dhcp4.conf of the test's image server
{{ "Dhcp4": {{
	"interfaces-config": {{ "interfaces": [ "{ifname}" ] }},
	"lease-database": {{ "type": "memfile", "persist": false }},
	"control-socket": {{ "socket-type": "unix", "socket-name": "{tmp}/kea.sock" }},
	"valid-lifetime": 600,
	"loggers": [ {{ "name": "kea-dhcp4", "severity": "INFO",
		"output_options": [ {{ "output": "{tmp}/kea.log" }} ] }} ],
	<?include "{live}/dim-kea-dhcp4.json"?>
}} }}
""",
    "dnsmasq": """# dnsmasq.conf of the test's image server
port=0
interface={ifname}
bind-interfaces
dhcp-leasefile={tmp}/dnsmasq.leases
pid-file={tmp}/dnsmasq.pid
log-dhcp
log-facility={tmp}/dnsmasq.log
conf-file={live}/dim-dnsmasq.conf
""",
}

# What each main config's admin could get wrong, with what the daemon says.
BROKEN = {
    "isc": ("authoritative;", "authoritative", "semicolon expected"),
    "kea": ('"valid-lifetime": 600,', '"valid-lifetime": 600', "syntax error"),
    "dnsmasq": ("bind-interfaces", "bind-interface", "bad option"),
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_check_rejects(dim, tmp, backend):
    """The daemon's check sees the new file through the admin's main config; a
    rejection leaves the live files byte-identical and keeps the rejected ones."""
    live = os.path.join(tmp, "live")
    main = os.path.join(tmp, "main.conf")
    state = os.path.join(tmp, "state.db")
    ctx = {"live": live, "tmp": tmp, "ifname": "lo"}
    write(main, MAIN[backend].format(**ctx))
    base = ["dhcp", "install", "s01", "-c", SMALL, "--state", state, "-b", backend, "-d", live]
    p = run_dim(dim, base + ["-m", main])
    assert "(checked by %s, with %s)" % (DAEMONS[backend], main) in p.stdout, p.stdout
    assert "was not told" in p.stderr
    before = {n: read(os.path.join(live, n)) for n in FILES[backend]}

    # The admin's main config is broken: nothing changes, even with a new blade state.
    old, new, complaint = BROKEN[backend]
    text = MAIN[backend].format(**ctx)
    assert old in text
    write(main, text.replace(old, new, 1))
    run_dim(dim, ["dhcp", "mac", "-c", SMALL, "--state", state, "-o", os.path.join(tmp, "out"),
                  "s02c1b03", "52:54:00:00:02:03"])
    p = run_dim(dim, base + ["-m", main], check=False)
    assert p.returncode == 1, p
    assert "rejects the new configuration" in p.stderr, p.stderr
    assert complaint in p.stderr, p.stderr
    # The complaint names the admin's file, not a scratch file of the check.
    assert main in p.stderr, p.stderr
    assert "dim-dhcp-check-" not in p.stderr and ".tmp-" not in p.stderr, p.stderr
    for n in FILES[backend]:
        assert read(os.path.join(live, n)) == before[n], n
        assert os.path.exists(os.path.join(live, n + ".rejected")), n
    assert not [f for f in os.listdir(live) if ".tmp-" in f]

    # A main config that does not include the file is named as the problem.
    write(main, "# nothing here\n")
    p = run_dim(dim, base + ["-m", main], check=False)
    assert p.returncode == 1
    assert "does not include %s/%s" % (live, FILES[backend][0]) in p.stderr

    # Fixed: the check passes, the rejected files are gone.
    write(main, MAIN[backend].format(**ctx))
    run_dim(dim, base + ["-m", main])
    assert not [f for f in os.listdir(live) if f.endswith(".rejected")]


def test_install_through_symlink(dim, tmp):
    """The main config names the live directory as the admin does, through a
    symbolic link: the check finds the include by that name."""
    real = os.path.join(tmp, "real")
    os.makedirs(real)
    live = os.path.join(tmp, "live")
    os.symlink(real, live)
    main = os.path.join(tmp, "dhcpd.conf")
    write(main, MAIN["isc"].format(live=live))
    p = run_dim(dim, ["dhcp", "install", "s01", "-c", SMALL, "--state",
                      os.path.join(tmp, "none.db"), "-d", live + "/", "-m", main])
    assert "%s/dim-dhcpd.conf (checked by dhcpd, with %s)" % (live, main) in p.stdout, p.stdout
    assert os.path.isfile(os.path.join(real, "dim-dhcpd.conf"))


def test_check_rejects_duplicate_host(dim, tmp):
    """dhcpd's own complaint about the generated file, with the rejected file's line."""
    live = os.path.join(tmp, "live")
    main = os.path.join(tmp, "dhcpd.conf")
    # The admin declared the host before the include: dhcpd stops at the generated one.
    write(main, "host s01c1b02 { hardware ethernet 52:54:00:00:09:09; }\n" +
          MAIN["isc"].format(live=live))
    p = run_dim(dim, ["dhcp", "install", "s01", "-c", SMALL, "--state",
                      os.path.join(tmp, "none.db"), "-d", live, "-m", main], check=False)
    assert p.returncode == 1
    assert "host s01c1b02: already exists" in p.stderr, p.stderr
    rejected = os.path.join(live, "dim-dhcpd.conf.rejected")
    assert re.search(re.escape(rejected) + r" line \d+", p.stderr), p.stderr
    assert not os.path.exists(os.path.join(live, "dim-dhcpd.conf"))


def test_concurrent_assign(dim, tmp):
    """Two administrators assign at once: both succeed, and the file written last
    holds both changes (each command reloads the state inside its transaction)."""
    out = os.path.join(tmp, "out")
    state = os.path.join(tmp, "state.db")
    common = ["-c", SMALL, "--state", state, "-o", out]
    run_dim(dim, ["dhcp", "write"] + common)
    for round_ in range(3):
        image = ("other", "master", "other")[round_]
        procs = [subprocess.Popen([dim, "dhcp", "assign", image, blade] + common,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for blade in ("s01c1b01", "s01c1b02", "s01c1b03", "s01c1b04")]
        for p in procs:
            stdout, stderr = p.communicate(timeout=120)
            assert p.returncode == 0, stderr
        with open(os.path.join(out, "s01", "dim-dhcpd.conf")) as f:
            text = f.read()
        for blade in ("s01c1b01", "s01c1b02", "s01c1b03", "s01c1b04"):
            assert "images/%s/blades/%s\";" % (image, blade) in text, (round_, blade)
    assert not [f for f in os.listdir(os.path.join(out, "s01")) if ".tmp-" in f]


def test_mac_moves(dim, tmp):
    """A MAC recorded for one blade, then given to a blade of another image server:
    refused without --force; with it, both servers' files change."""
    out = os.path.join(tmp, "out")
    common = ["-c", SMALL, "--state", os.path.join(tmp, "state.db"), "-o", out]
    mac = "52:54:00:00:02:03"
    run_dim(dim, ["dhcp", "mac", "s02c1b03", mac] + common)
    with open(os.path.join(out, "s02", "dim-dhcpd.conf")) as f:
        assert "hardware ethernet %s;" % mac in f.read()
    p = run_dim(dim, ["dhcp", "mac", "s01c1b04", mac] + common, check=False)
    assert p.returncode == 1
    assert "s02c1b03" in p.stderr and "s01c1b04" in p.stderr, p.stderr
    run_dim(dim, ["dhcp", "mac", "s01c1b04", mac, "--force"] + common)
    with open(os.path.join(out, "s02", "dim-dhcpd.conf")) as f:
        s02 = f.read()
    with open(os.path.join(out, "s01", "dim-dhcpd.conf")) as f:
        s01 = f.read()
    assert mac not in s02 and "host s02c1b03" not in s02
    assert re.search(r"host s01c1b04 \{[^}]*hardware ethernet %s;" % mac, s01), s01
    p = run_dim(dim, ["dhcp", "show", "s02c1b03", "-c", SMALL, "--state",
                      os.path.join(tmp, "state.db")], check=False)
    assert p.returncode == 1 and "no MAC is known" in p.stderr


def test_usage(dim, tmp):
    p = run_dim(dim, ["dhcp", "--help"])
    assert p.stdout.startswith("usage: dim dhcp")
    p = run_dim(dim, ["dhcp", "show", "s01c1b01", "--pidfile", "x"], check=False)
    assert p.returncode == 2 and "not an option of dim dhcp show" in p.stderr
    p = run_dim(dim, ["dhcp", "install", "s01", "-b", "isc", "--pidfile", "x", "-c", SMALL,
                      "--state", os.path.join(tmp, "none.db"), "-d", os.path.join(tmp, "l")],
                check=False)
    assert p.returncode == 1 and "dhcpd cannot reload its configuration" in p.stderr, p.stderr
    p = run_dim(dim, ["dhcp", "mac", "s01c1b01", "52:54:00:zz:00:01"], check=False)
    assert p.returncode == 2 and "is not a MAC" in p.stderr


# ---------------------------------------------------------------- real daemons, real requests

class Net:
    """Two network namespaces joined by a veth: the image server's (10.77.0.1/24)
    and a client's whose MAC each request sets."""

    def __init__(self):
        tag = "%d" % (os.getpid() % 100000)
        self.server_ns, self.client_ns = "dimdhcp-s" + tag, "dimdhcp-c" + tag
        self.server_if, self.client_if = "dd%ss" % tag, "dd%sc" % tag

    def up(self):
        sh = lambda *a: subprocess.run(a, check=True)
        sh("ip", "netns", "add", self.server_ns)
        sh("ip", "netns", "add", self.client_ns)
        sh("ip", "link", "add", self.server_if, "netns", self.server_ns, "type", "veth",
           "peer", "name", self.client_if, "netns", self.client_ns)
        sh("ip", "-n", self.server_ns, "addr", "add", SERVER + "/24", "dev", self.server_if)
        for ns, ifname in ((self.server_ns, self.server_if), (self.client_ns, self.client_if)):
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "link", "set", ifname, "up")

    def down(self):
        for ns in (self.server_ns, self.client_ns):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def net(dim):
    n = Net()
    try:
        n.up()
        yield n
    finally:
        n.down()


UDHCPC_SCRIPT = """#!/bin/sh
# busybox udhcpc's script: keep what the server said, configure nothing.
[ "$1" = bound ] || exit 0
env > "$DIM_UDHCPC_OUT"
"""


def request(net, tmp, mac, tries=3):
    """One DHCP exchange from the client namespace with MAC: the lease as a dict
    (site options decoded from hex), or None when nobody answered."""
    script = os.path.join(tmp, "udhcpc.script")
    if not os.path.exists(script):
        write(script, UDHCPC_SCRIPT, 0o755)
    out = os.path.join(tmp, "lease")
    if os.path.exists(out):
        os.unlink(out)
    ip = ["ip", "-n", net.client_ns, "link", "set", net.client_if]
    subprocess.run(ip + ["down"], check=True)
    subprocess.run(ip + ["address", mac], check=True)
    subprocess.run(ip + ["up"], check=True)
    argv = ["ip", "netns", "exec", net.client_ns, "env", "DIM_UDHCPC_OUT=" + out,
            "busybox", "udhcpc", "-i", net.client_if, "-n", "-q", "-f", "-t", str(tries),
            "-T", "1", "-A", "1", "-s", script, "-O", "hostname", "-O", "rootpath"]
    # 175: iPXE's encapsulated options (no-pxedhcp for .ipxe images).
    for code in (175,) + tuple(range(224, 230)):
        argv += ["-O", str(code)]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=60)
    if p.returncode != 0 or not os.path.exists(out):
        return None
    lease = {}
    with open(out) as f:
        for line in f:
            k, sep, v = line.rstrip("\n").partition("=")
            if not sep:
                continue
            m = re.fullmatch(r"opt(\d+)", k)
            if m and 224 <= int(m.group(1)) <= 254:
                lease[int(m.group(1))] = bytes.fromhex(v).decode()
            else:
                lease[k] = v
    return lease


def check_lease(lease, blade, image, mode, rodirs, kernel="vmlinux"):
    name, mac, addr = blade
    assert lease is not None, "no answer for %s (%s)" % (name, mac)
    assert lease["ip"] == addr
    assert lease["hostname"] == name
    assert lease["siaddr"] == SERVER
    # The boot file is IMAGE/KERNEL in the image server's TFTP root.
    assert lease["boot_file"] == "%s/%s" % (image, kernel)
    if kernel.endswith(".ipxe"):
        # option 175 holding sub-option 176 (no-pxedhcp), length 1, value 1
        assert lease.get("opt175") == "b00101", lease
    else:
        assert "opt175" not in lease, lease
    assert lease["router"] == SERVER
    assert lease["subnet"] == "255.255.255.0"
    assert lease["rootpath"] == "%s:%s/images/%s/ro" % (SERVER, STORAGE, image)
    assert lease[224] == "%s:%s/images/%s/blades/%s" % (SERVER, STORAGE, image, name)
    assert lease[225] == mode
    assert lease[228] == "auto"
    if rodirs:
        assert lease[229] == rodirs
    # dim-rwimg is the contract's default: not sent.
    assert 227 not in lease


def pid_is(pid, comm):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip() == comm
    except OSError:
        return False


def stop_pid(pid, comm):
    """Stop a daemon we started, by its PID, if it is still that daemon."""
    if not pid or not pid_is(pid, comm):
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not pid_is(pid, comm):
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def wait_listening(net, seconds=10):
    for _ in range(seconds * 20):
        p = subprocess.run(["ip", "netns", "exec", net.server_ns, "ss", "-Hlun", "sport = :67"],
                           stdout=subprocess.PIPE, text=True)
        if p.stdout.strip():
            return True
        time.sleep(0.05)
    return False


# What an image server's service manager does on "restart": stop the running
# daemon (by its pid file, if that pid is still the daemon), start it again,
# wait until it listens.
RESTART = """#!/bin/sh
pidfile={pidfile}
if [ -s "$pidfile" ]; then
	pid=$(cat "$pidfile")
	if [ "$(cat /proc/$pid/comm 2>/dev/null)" = {comm} ]; then
		kill "$pid"
		i=0
		while [ "$(cat /proc/$pid/comm 2>/dev/null)" = {comm} ] &&
		      ! grep -q '^[^)]*) Z' /proc/$pid/stat 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.05; i=$((i + 1))
		done
	fi
fi
{start}
i=0
until ip netns exec {ns} ss -Hlun 'sport = :67' | grep -q .; do
	sleep 0.05; i=$((i + 1)); [ $i -lt 200 ] || exit 1
done
"""

START = {
    # dhcpd in the foreground, so its complaints land in dhcpd.log.
    "isc": """: >>{tmp}/dhcpd.leases
ip netns exec {ns} dhcpd -4 -d -cf {main} -lf {tmp}/dhcpd.leases -pf "$pidfile" {ifname} \\
	</dev/null >>{tmp}/dhcpd.log 2>&1 &
echo $! >"$pidfile"
""",
    # dnsmasq daemonizes once it has read its configuration and writes pid-file.
    "dnsmasq": """ip netns exec {ns} dnsmasq --conf-file={main} </dev/null >>{tmp}/dnsmasq.out 2>&1""",
}

PIDFILE = {"isc": "dhcpd.pid", "dnsmasq": "dnsmasq.pid",
           # KEA_PIDFILE_DIR/<config name>.kea-dhcp4.pid
           "kea": "main.kea-dhcp4.pid"}


class Daemon:
    """One backend's daemon in the server namespace, started on its main config."""

    def __init__(self, backend, net, tmp, main):
        self.backend, self.net, self.tmp, self.main = backend, net, tmp, main
        self.proc = None
        self.restart = None

    def start(self):
        ns, ifname, tmp = self.net.server_ns, self.net.server_if, self.tmp
        if self.backend == "kea":
            env = dict(os.environ, KEA_PIDFILE_DIR=tmp, KEA_LOCKFILE_DIR=tmp)
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", ns, "kea-dhcp4", "-c", self.main],
                stdout=open(os.path.join(tmp, "kea.out"), "w"), stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=env)
            ok = wait_listening(self.net)
        else:
            fill = dict(tmp=tmp, ns=ns, main=self.main, ifname=ifname)
            self.restart = os.path.join(tmp, "restart")
            write(self.restart, RESTART.format(
                pidfile=os.path.join(tmp, PIDFILE[self.backend]), comm=DAEMONS[self.backend],
                ns=ns, start=START[self.backend].format(**fill)), 0o755)
            ok = subprocess.run([self.restart]).returncode == 0
        if not ok:
            raise AssertionError("%s did not start:\n%s" % (DAEMONS[self.backend], self.logs()))

    def pid(self):
        if self.proc:
            return self.proc.pid
        try:
            with open(os.path.join(self.tmp, PIDFILE[self.backend])) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def reload_args(self, n):
        """How dim dhcp install tells it, the nth time."""
        if self.backend != "kea":
            return ["--reload", self.restart]
        if n == 0:
            return ["--control-socket", os.path.join(self.tmp, "kea.sock")]
        return ["--pidfile", os.path.join(self.tmp, PIDFILE["kea"])]

    def configured(self):
        """How many configurations Kea has completed (it logs each)."""
        try:
            with open(os.path.join(self.tmp, "kea.log")) as f:
                return f.read().count("DHCP4_CONFIG_COMPLETE")
        except OSError:
            return 0

    def logs(self):
        text = ""
        for name in ("dhcpd.log", "kea.out", "kea.log", "dnsmasq.out", "dnsmasq.log"):
            path = os.path.join(self.tmp, name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    text += "---- %s\n%s" % (name, f.read()[-6000:])
        return text

    def stop(self):
        stop_pid(self.pid(), DAEMONS[self.backend])
        if self.proc:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_serve(dim, net, tmp, backend):
    live = os.path.join(tmp, "live")
    out = os.path.join(tmp, "out")
    main = os.path.join(tmp, "main.conf")
    state = os.path.join(tmp, "state.db")
    write(main, MAIN[backend].format(live=live, tmp=tmp, ifname=net.server_if))
    # The other image boots through an iPXE script: its blades get no-pxedhcp.
    with open(SMALL) as f:
        xml = f.read()
    old = 'kernel="vmlinux" mode="overlay"'
    assert xml.count(old) == 1
    definition = os.path.join(tmp, "cluster.xml")
    write(definition, xml.replace(old, 'kernel="boot.ipxe" mode="overlay"'))
    common = ["-c", definition, "--state", state]
    install = ["dhcp", "install", "s01"] + common + ["-b", backend, "-d", live, "-m", main]

    # What the image server's admin does once: install, then start the daemon.
    run_dim(dim, install, ns=net.server_ns)
    daemon = Daemon(backend, net, tmp, main)
    try:
        daemon.start()
        check_lease(request(net, tmp, B1[1]), B1, "master", "bind", "bin,sbin,lib,usr,opt")
        # A MAC without a host entry gets no answer: no pool.
        assert request(net, tmp, UNKNOWN_MAC, tries=2) is None

        # Move the blade to the other image: the state, then the files, then the reload.
        p = run_dim(dim, ["dhcp", "assign", "other", "s01c1b01"] + common + ["-o", out])
        assert "assigned other to 1 blade" in p.stdout
        with open(os.path.join(out, "s01", FILES["isc"][0])) as f:
            assert "images/other/blades/s01c1b01\";" in f.read()
        p = run_dim(dim, install + daemon.reload_args(0), ns=net.server_ns)
        assert "reloaded" in p.stdout, p.stdout
        check_lease(request(net, tmp, B1[1]), B1, "other", "overlay", "bin,sbin,lib,usr,opt",
                    kernel="boot.ipxe")

        # A new MAC for a blade (its NIC replaced): the new one is answered, the old one
        # not.  A blade that holds no lease: dnsmasq keeps an address leased to the old
        # MAC until the lease expires (its log says "not using configured address").
        new_mac = "52:54:00:00:01:99"
        run_dim(dim, ["dhcp", "mac", "s01c1b02", new_mac] + common + ["-o", out])
        configured = daemon.configured()
        run_dim(dim, install + daemon.reload_args(1), ns=net.server_ns)
        if backend == "kea":
            # SIGHUP: Kea reads the configuration when the signal arrives, not
            # before kill(2) returns; it logs each configuration it completes.
            for _ in range(200):
                if daemon.configured() > configured:
                    break
                time.sleep(0.05)
            assert daemon.configured() > configured, daemon.logs()
        check_lease(request(net, tmp, new_mac), ("s01c1b02", new_mac, "10.77.0.12"), "master",
                    "bind", "bin,sbin,lib,usr,opt")
        assert request(net, tmp, "52:54:00:00:01:02", tries=2) is None
        # The assignment stays.
        check_lease(request(net, tmp, B1[1]), B1, "other", "overlay", None, kernel="boot.ipxe")
    except Exception:
        print(daemon.logs())
        raise
    finally:
        daemon.stop()
