# SPDX-License-Identifier: MIT
"""Simulated BladeCenter management modules: Debian's real snmpd, one per
module, answering the IBM subtree through tests/snmp/bcsim (pass_persist).

    sim = MMSim(workdir, "10.78.0.10", chassis_config, ns="dimbc")
    sim.start(); ...; sim.stop()

Each snmpd runs in the foreground (-f), is started from an argv list (in
network namespace ns through `ip netns exec`, else on the host) and stopped
by its PID.  The SNMP secrets of the tests are fixed below.

As a program (tests/bench/power.sh):
    mmsim.py start DIR NS ADDR... ; mmsim.py stop DIR
starts one module per address with a full chassis of 14 powered-off blades
and records the PIDs in DIR/pids.
"""

import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BCSIM = os.path.join(HERE, "bcsim")
SUBTREE = ".1.3.6.1.4.1.2.3.51"

COMMUNITY = "bc-write-3x"
V3_USERS = {
    # name: (auth, auth passphrase, priv, priv passphrase)
    "mmsha": ("SHA", "authpass-1", "AES", "privpass-1"),
    "mmdes": ("SHA", "authpass-2", "DES", "privpass-2"),
}


def chassis(name, bays=14, present=None, power="off", macs=None, log=None, delay=0.0):
    """A chassis config: bays `present` (default all) with two MACs each."""
    present = range(1, bays + 1) if present is None else present
    c = {"name": name, "bays": bays, "inventory_delay": delay, "blades": {}}
    if log:
        c["log"] = log
    for b in present:
        m = (macs or {}).get(b)
        if m is None:
            tag = sum(ord(x) for x in name) & 0xff
            m = ["00:1A:64:%02X:%02X:%02X" % (tag, b, 1), "00:1a:64:%02x:%02x:%02x" % (tag, b, 2),
                 "Not Installed"]
        c["blades"][str(b)] = {"macs": m, "power": power, "serial": "SN%s%02d" % (name, b),
                               "type": "8853", "model": "AC1", "name": "%s-bay%d" % (name, b),
                               "uuid": "%032X" % b}
    return c


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


class MMSim:
    def __init__(self, workdir, addr, config, port=161, ns=None, community=COMMUNITY):
        self.dir = workdir
        self.addr = addr
        self.port = port
        self.ns = ns
        self.community = community
        self.config_path = os.path.join(workdir, "chassis.json")
        self.proc = None
        os.makedirs(workdir, exist_ok=True)
        write_json(self.config_path, config)

    def set_config(self, config):
        write_json(self.config_path, config)
        # bcsim reloads on a changed mtime; make sure it differs within a second
        t = time.time()
        os.utime(self.config_path, (t, t))

    def conf_text(self):
        lines = [
            "agentaddress udp:%s:%d" % (self.addr, self.port),
            "rwcommunity %s default %s" % (self.community, SUBTREE),
            "rocommunity %s-ro default %s" % (self.community, SUBTREE),
            "dontLogTCPWrappersConnects yes",
        ]
        for user, (a, ap, p, pp) in sorted(V3_USERS.items()):
            lines.append('createUser %s %s "%s" %s "%s"' % (user, a, ap, p, pp))
            lines.append("rwuser %s priv %s" % (user, SUBTREE))
        lines.append("pass_persist %s %s %s" % (SUBTREE, BCSIM, self.config_path))
        return "\n".join(lines) + "\n"

    def start(self, wait=10.0):
        conf = os.path.join(self.dir, "snmpd.conf")
        with open(conf, "w") as f:
            f.write(self.conf_text())
        persist = os.path.join(self.dir, "persist")
        os.makedirs(persist, exist_ok=True)
        argv = ["snmpd", "-f", "-Lf", os.path.join(self.dir, "snmpd.log"), "-C", "-c", conf,
                "-p", os.path.join(self.dir, "snmpd.pid"),
                "-I", "-smux,mteTrigger,mteTriggerConf"]
        if self.ns:
            argv = ["ip", "netns", "exec", self.ns] + argv
        env = dict(os.environ, MIBS="", SNMP_PERSISTENT_DIR=persist)
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if wait:
            self.wait_up(wait)
        return self

    def listening(self):
        argv = ["ss", "-Hlun", "src = %s:%d" % (self.addr, self.port)]
        if self.ns:
            argv = ["ip", "netns", "exec", self.ns] + argv
        out = subprocess.run(argv, stdout=subprocess.PIPE, text=True).stdout
        return bool(out.strip())

    def wait_up(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("snmpd for %s exited (%s): %s" % (
                    self.addr, self.proc.returncode, self.log()))
            if self.listening():
                return
            time.sleep(0.05)
        raise RuntimeError("snmpd for %s not listening after %.0f s" % (self.addr, seconds))

    def log(self):
        try:
            with open(os.path.join(self.dir, "snmpd.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def stop(self):
        """SIGTERM to our snmpd by its PID (it ends its pass_persist child)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def _main(argv):
    if len(argv) >= 4 and argv[1] == "start":
        d, ns, addrs = argv[2], argv[3], argv[4:]
        sims = []
        for i, a in enumerate(addrs):
            s = MMSim(os.path.join(d, "mm%d" % (i + 1)), a, chassis("mm%d" % (i + 1)), ns=ns)
            s.start(wait=0)
            sims.append(s)
        with open(os.path.join(d, "pids"), "w") as f:
            for s in sims:
                f.write("%d\n" % s.proc.pid)
        for s in sims:
            s.wait_up(120)
        # snmpd starts its pass_persist program at the first request: start them all now
        warm = [subprocess.Popen(["ip", "netns", "exec", ns, "snmpget", "-v2c", "-c", COMMUNITY,
                                  "-t", "20", "-r", "2", s.addr, SUBTREE + ".2.22.4.3.0"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for s in sims]
        bad = [s.addr for s, w in zip(sims, warm) if w.wait() != 0]
        if bad:
            sys.stderr.write("mmsim: no answer from %s\n" % " ".join(bad))
            return 1
        return 0
    if len(argv) == 3 and argv[1] == "stop":
        path = os.path.join(argv[2], "pids")
        if not os.path.exists(path):
            return 0
        with open(path) as f:
            pids = [int(x) for x in f.read().split()]
        for p in pids:
            try:
                os.kill(p, signal.SIGTERM)
            except ProcessLookupError:
                pass
        # our children (snmpd) or not: wait until each PID is gone, at most 20 s
        end = time.monotonic() + 20
        for p in pids:
            while time.monotonic() < end:
                try:
                    if os.waitpid(p, os.WNOHANG)[0]:
                        break
                except ChildProcessError:
                    if not os.path.exists("/proc/%d" % p):
                        break
                time.sleep(0.05)
        os.unlink(path)
        return 0
    sys.stderr.write("usage: mmsim.py start DIR NS ADDR... | mmsim.py stop DIR\n")
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv))


class IPMISim:
    """Debian's ipmi_sim (openipmi) as one node's BMC at addr:623, its power a
    file the chassis-control helper keeps (tests/snmp/ipmi_chassis_control)."""

    def __init__(self, workdir, addr, user="admin", password="sim-secret-1", ns=None):
        self.dir = workdir
        self.addr = addr
        self.ns = ns
        self.proc = None
        os.makedirs(os.path.join(workdir, "state"), exist_ok=True)
        with open(os.path.join(workdir, "lan.conf"), "w") as f:
            f.write('name "dimsim"\nset_working_mc 0x20\n  startlan 1\n'
                    "    addr %s 623\n    priv_limit admin\n" % addr)
            for who in ("callback", "user", "operator", "admin"):
                f.write("    allowed_auths_%s md5 straight\n" % who)
            f.write("    guid a123456789abcdefa123456789abcdef\n  endlan\n"
                    '  chassis_control "%s"\n' % os.path.join(HERE, "ipmi_chassis_control"))
            f.write('  user 2 true "%s" "%s" admin 10 md5 straight\n' % (user, password))
        with open(os.path.join(workdir, "sim.emu"), "w") as f:
            f.write("mc_setbmc 0x20\n"
                    "mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\n"
                    "sel_enable 0x20 1000 0x0a\nmc_enable 0x20\n")

    def power(self):
        try:
            with open(os.path.join(self.dir, "power")) as f:
                return f.read().strip()
        except OSError:
            return "0"

    def start(self):
        argv = ["ipmi_sim", "-c", "lan.conf", "-f", "sim.emu", "-s", "state", "-n"]
        if self.ns:
            argv = ["ip", "netns", "exec", self.ns] + argv
        self.proc = subprocess.Popen(argv, cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=open(os.path.join(self.dir, "sim.log"), "w"),
                                     stderr=subprocess.STDOUT)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("ipmi_sim exited: %s" % open(os.path.join(self.dir, "sim.log")).read())
            a = ["ss", "-Hlun", "src = %s:623" % self.addr]
            if self.ns:
                a = ["ip", "netns", "exec", self.ns] + a
            if subprocess.run(a, stdout=subprocess.PIPE, text=True).stdout.strip():
                return self
            time.sleep(0.05)
        raise RuntimeError("ipmi_sim not listening on %s:623" % self.addr)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
