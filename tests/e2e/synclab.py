# SPDX-License-Identifier: MIT
"""The update hierarchy's hosts for the e2e tests: config/small.xml with
storage roots of the test's own and a master pulled from an rsync daemon,
and qemu/topology around it (a master host, the management node, image
servers with sshd, each in a network namespace).  test_sync.py and
test_sync_boot.py use it.
"""

import hashlib
import os
import shutil
import subprocess

import helpers

REPO = helpers.REPO
TOPOLOGY = os.path.join(REPO, "qemu", "topology")
SMALL = os.path.join(REPO, "config", "small.xml")
MASTER_ADDR = "10.77.254.1"


def sh(argv, check=True, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d\n%s%s" % (" ".join(argv), p.returncode, p.stdout, p.stderr))
    return p


def tree_sums(root, skip=(".lock",)):
    """{relative path: (type, mode, uid, content sha or link target)} of a tree."""
    out = {}
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            p = os.path.join(d, name)
            rel = os.path.relpath(p, root)
            if name in skip or name.startswith(".dim-tmp.") or name == ".~tmp~":
                continue
            st = os.lstat(p)
            if os.path.islink(p):
                out[rel] = ("l", os.readlink(p))
            elif os.path.isdir(p):
                out[rel] = ("d", st.st_mode & 0o7777, st.st_uid)
            else:
                with open(p, "rb") as f:
                    out[rel] = ("f", st.st_mode & 0o7777, st.st_uid, hashlib.sha256(f.read()).hexdigest())
    return out


def definition(top, s01, s02):
    with open(SMALL) as f:
        xml = f.read()
    xml = xml.replace('<management name="mn" address="10.77.255.1"/>',
                      '<management name="mn" address="10.77.255.1" storage="%s/mgmt"/>' % top)
    xml = xml.replace('rw-size="64M">\n    <shared>bin sbin lib usr opt</shared>\n    <keep-out>',
                      'rw-size="64M" master="rsync://%s/master">\n    <shared>bin sbin lib usr opt</shared>\n    <keep-out>'
                      % MASTER_ADDR, 1)
    xml = xml.replace('<address base="10.77.0.1" strides="server:0.0.1.0"/>',
                      '<address base="10.77.0.1" strides="server:0.0.1.0"/>\n'
                      '    <imageserver name="s01" storage="%s"/>\n'
                      '    <imageserver name="s02" storage="%s"/>' % (s01, s02))
    assert 'master="rsync://' in xml and 'storage="%s"' % s02 in xml
    path = os.path.join(top, "cluster.xml")
    with open(path, "w") as f:
        f.write(xml)
    return path


class Topology:
    def __init__(self, build_dir, top, servers):
        self.top, self.state = top, os.path.join(top, "topology")
        self.dim = os.path.join(build_dir, "bin", "dim")
        self.master = os.path.join(top, "masterblade")
        self.servers = servers
        self.env = dict(os.environ, DIM_SSH="ssh -F %s/ssh_config" % self.state,
                        DIM_REMOTE_DIM=self.dim, DIM=self.dim,
                        DIM_STATE=os.path.join(top, "state.db"),
                        PATH=os.path.join(build_dir, "bin") + ":" + os.environ["PATH"])

    def up(self, busybox):
        helpers.run([os.path.join(REPO, "tests", "master", "mkmaster"), "--busybox", busybox,
                     "--root", os.path.join(self.top, "mk"), "none"])
        shutil.copytree(os.path.join(self.top, "mk", "images", "master", "ro"), self.master, symlinks=True)
        os.makedirs(os.path.join(self.master, "var", "log"), exist_ok=True)
        with open(os.path.join(self.master, "var", "log", "messages"), "w") as f:
            f.write("the master's own log: keep-out\n")
        argv = [TOPOLOGY, "up", self.state, "--master-root", self.master]
        for s in self.servers:
            argv += ["--server", s]
        helpers.run(argv)

    def down(self):
        subprocess.run([TOPOLOGY, "down", self.state], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def run(self, host, argv, check=True, **kw):
        return sh([TOPOLOGY, "exec", self.state, host] + argv, check=check, env=self.env, **kw)

    def dimc(self, *args, check=True):
        return self.run("mgmt", [self.dim] + list(args[:1]) + ["-c", self.cluster] + list(args[1:]),
                        check=check)

    def write_master(self, rel, text):
        p = os.path.join(self.master, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p + ".new", "w") as f:
            f.write(text)
        os.rename(p + ".new", p)


def rw_dir(t, server, blade):
    return os.path.join(t.storage[server], "images", "master", "blades", blade)
