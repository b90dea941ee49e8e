"""The Kamailio hosts the benches run on, as tests/common's Host: Debian's 5.6
(build/kamailio/) and the 6.1 build scripts/setup-kamailio61 made in
.cache/kamailio61 (build/kamailio-<version>/). BENCH_HOSTS picks them (default
"5.6,6.1"; 6.1 is left out, with a note, when it is not built)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Host:
    def __init__(self, line, bin, kamcmd, mpath, schemas, ours_dir):
        self.line = line
        self.bin = bin
        self.kamcmd = kamcmd
        self.mpath = mpath
        self.schemas = schemas
        self.ours_dir = ours_dir
        out = subprocess.run([bin, "-v"], capture_output=True, text=True).stdout.split()
        self.version = out[2] if len(out) > 2 else "?"

    def stock(self, name):
        return self.mpath + name

    def ours(self, name):
        return os.path.join(self.ours_dir, name)

    def schema(self, rel):
        return open(os.path.join(self.schemas, rel)).read()


def debian():
    return Host("5.6", "kamailio", "kamcmd", "/usr/lib/x86_64-linux-gnu/kamailio/modules/",
                "/usr/share/kamailio", os.path.join(ROOT, "build/kamailio"))


def k61():
    prefix = os.path.join(ROOT, ".cache/kamailio61/install")
    kbin = os.path.join(prefix, "sbin/kamailio")
    if not os.path.exists(kbin):
        return None
    h = Host("6.1", kbin, os.path.join(prefix, "sbin/kamcmd"),
             os.path.join(prefix, "lib64/kamailio/modules") + "/",
             os.path.join(prefix, "share/kamailio"), "")
    h.ours_dir = os.path.join(ROOT, f"build/kamailio-{h.version}")
    return h


def hosts():
    out = []
    for line in os.environ.get("BENCH_HOSTS", "5.6,6.1").split(","):
        line = line.strip()
        if line == "5.6":
            out.append(debian())
        elif line == "6.1":
            h = k61()
            if h is None:
                print("bench: no Kamailio 6.1 build in .cache/kamailio61 (scripts/setup-kamailio61): "
                      "6.1 left out", file=sys.stderr)
            else:
                out.append(h)
        elif line:
            raise SystemExit(f"BENCH_HOSTS: {line}? (5.6, 6.1)")
    return out
