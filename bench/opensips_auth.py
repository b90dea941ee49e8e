#!/usr/bin/env python3
"""make bench (OpenSIPS auth): authenticated REGISTERs (REGISTER, 401,
REGISTER with credentials checked by the stock auth_db over SQLite, 200;
bench/register-auth.xml) through OpenSIPS 3.6.8 with the stock auth.so and
with ours, rounds alternating: OpenSIPS's CPU per REGISTER and the ratio
ours/stock; then the instructions of the SIP worker per REGISTER under
callgrind (one worker), which do not vary from run to run. Then the ceiling:
challenges at a rate above stock's 100,000 nonces per nonce_expire (with a
short nonce_expire), counting the challenges each answers. Reported, never
asserted.

env: BENCH_AUTH_REGS (default 3000), BENCH_AUTH_RATE (300/s),
     BENCH_AUTH_ROUNDS (2), BENCH_AUTH_CG_REGS (100; 0 skips callgrind),
     BENCH_CEILING_REQS (challenges for the ceiling run, default 120000; 0 skips it)
"""
import glob
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (ports, CPU time, start/stop)

ROOT = run.ROOT
PREFIX = os.path.join(ROOT, ".cache/opensips")
BIN = os.path.join(PREFIX, "sbin/opensips")
MPATH = os.path.join(PREFIX, "lib64/opensips/modules/")
STOCK = os.path.join(MPATH, "auth.so")
OURS = os.path.join(ROOT, "build/opensips/auth.so")
REGS = int(os.environ.get("BENCH_AUTH_REGS", "3000"))
RATE = int(os.environ.get("BENCH_AUTH_RATE", "300"))
ROUNDS = int(os.environ.get("BENCH_AUTH_ROUNDS", "2"))
CG_REGS = int(os.environ.get("BENCH_AUTH_CG_REGS", "100"))
CEILING = int(os.environ.get("BENCH_CEILING_REQS", "120000"))

CFG = """log_level=1
stderror_enabled=yes
syslog_enabled=no
udp_workers={workers}
socket=udp:127.0.0.1:{port}
mpath="{mpath}"
loadmodule "proto_udp.so"
loadmodule "sl.so"
loadmodule "signaling.so"
loadmodule "sipmsgops.so"
loadmodule "db_sqlite.so"
loadmodule "{auth}"
loadmodule "auth_db.so"
modparam("auth", "secret", "0123456789abcdef0123456789abcdef")
modparam("auth", "nonce_expire", {expire})
modparam("auth_db", "db_url", "sqlite://{db}")
modparam("auth_db", "calculate_ha1", 1)
modparam("auth_db", "password_column", "password")
modparam("auth_db", "load_credentials", "")
route {{
    if (!www_authorize("", "subscriber")) {{
        www_challenge("", "auth");
        exit;
    }}
    sl_send_reply(200, "OK");
}}
"""


def make_db(tmp):
    db = os.path.join(tmp, "auth.sqlite")
    if os.path.exists(db):
        os.remove(db)
    sq = os.path.join(PREFIX, "share/opensips/sqlite")
    sql = open(os.path.join(sq, "standard-create.sql")).read() + open(os.path.join(sq, "auth_db-create.sql")).read()
    sql += "INSERT INTO subscriber (username, domain, password) VALUES ('alice', 'sip.test', 'alicepw');\n"
    subprocess.run(["sqlite3", db], input=sql.encode(), check=True)
    return db


def cfg(tmp, module, port, workers=2, expire=30, name="auth.cfg"):
    path = os.path.join(tmp, name)
    open(path, "w").write(CFG.format(port=port, mpath=MPATH, auth=module, db=make_db(tmp),
                                     workers=workers, expire=expire))
    return path


def sipp(port, uac_port, rate, n, timeout):
    return subprocess.run(["sipp", "-sf", os.path.join(ROOT, "bench/register-auth.xml"), f"127.0.0.1:{port}",
                           "-i", "127.0.0.1", "-p", str(uac_port), "-r", str(rate), "-m", str(n),
                           "-s", "alice", "-au", "alice", "-ap", "alicepw", "-nostdin", "-timeout", f"{timeout}s"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout * 2).returncode


def run_once(module, tmp):
    port, uac_port = run.free_port(), run.free_port()
    path = cfg(tmp, module, port)
    cmd = [BIN, "-F", "-m", "128", "-M", "16", "-f", path, "-w", tmp]
    with run.running(cmd, port, os.path.join(tmp, "auth.log")) as k:
        before = run.cpu_seconds(k.pid)
        t0 = time.time()
        rc = sipp(port, uac_port, RATE, REGS, 300)
        wall = time.time() - t0
        used = run.cpu_seconds(k.pid) - before
    return used, wall, rc == 0


def instructions(module, tmp):
    port, uac_port = run.free_port(), run.free_port()
    path = cfg(tmp, module, port, workers=1, name="auth-cg.cfg")
    for f in glob.glob(os.path.join(tmp, "acg.*")):
        os.remove(f)
    cmd = ["valgrind", "--tool=callgrind", "--trace-children=yes", f"--callgrind-out-file={tmp}/acg.%p",
           BIN, "-F", "-m", "128", "-M", "16", "-f", path, "-w", tmp]
    with run.running(cmd, port, os.path.join(tmp, "auth-cg.log"), start_secs=60, settle=3):
        rc = sipp(port, uac_port, 20, CG_REGS, 120)
    worker = 0
    for f in glob.glob(os.path.join(tmp, "acg.*")):
        txt = open(f, errors="replace").read()
        m = re.search(r"^summary:\s*(\d+)", txt, re.M)
        if m and "receive_msg" in txt:
            worker += int(m.group(1))
    return worker / CG_REGS, rc == 0


def ceiling(module, tmp):
    """REGISTERs without credentials as fast as one socket sends them (more
    than 100,000 within the default nonce_expire of 30 s): how many got a
    401 (the rest: no reply; stock logs "no more nonces can be generated")."""
    import socket
    port = run.free_port()
    path = cfg(tmp, module, port, name="ceiling.cfg")
    cmd = [BIN, "-F", "-m", "128", "-M", "16", "-f", path, "-w", tmp]
    with run.running(cmd, port, os.path.join(tmp, "ceiling.log")):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        me = s.getsockname()[1]
        got = 0

        def drain(timeout):
            nonlocal got
            s.settimeout(timeout)
            try:
                while True:
                    got += s.recv(65535).startswith(b"SIP/2.0 401")
            except OSError:
                pass

        t0 = time.time()
        for i in range(CEILING):
            req = (f"REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bKc{i}\r\n"
                   f"From: <sip:alice@127.0.0.1>;tag={i}\r\nTo: <sip:alice@127.0.0.1>\r\nCall-ID: c{i}\r\n"
                   f"CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n")
            s.sendto(req.encode(), ("127.0.0.1", port))
            if i % 50 == 49:
                drain(0.0005)
        drain(2)
        wall = time.time() - t0
    return got, wall


def main():
    if not os.path.exists(OURS):
        raise SystemExit("build/opensips/auth.so missing: run make")
    print(f"\nOpenSIPS auth: {REGS} authenticated REGISTERs (401 + auth_db/SQLite check) per round at {RATE}/s")
    res = {"stock": [], "ours": []}
    ok_all = True
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(ROUNDS):
            for name, module in (("stock", STOCK), ("ours", OURS)):
                cpu, wall, ok = run_once(module, tmp)
                per = cpu / REGS * 1e6
                print(f"  round {r + 1} {name:5}: {wall:5.1f} s, CPU {cpu:6.2f} s = {per:7.1f} us/REGISTER"
                      f"{'' if ok else '  (sipp reported failures!)'}", flush=True)
                res[name].append(per)
                ok_all = ok_all and ok
    if ROUNDS:
        s, o = sum(res["stock"]) / ROUNDS, sum(res["ours"]) / ROUNDS
        print(f"  mean: stock {s:.1f} us, ours {o:.1f} us, ratio ours/stock {o / s:.3f}")
    if CG_REGS > 0:
        ir = {}
        with tempfile.TemporaryDirectory() as tmp:
            for name, module in (("stock", STOCK), ("ours", OURS)):
                ir[name], ok = instructions(module, tmp)
                ok_all = ok_all and ok
        print(f"  instructions per REGISTER in the SIP worker (callgrind, {CG_REGS} REGISTERs):")
        print(f"    stock {ir['stock']:,.0f}, ours {ir['ours']:,.0f}, ratio ours/stock {ir['ours'] / ir['stock']:.4f}")
    if CEILING > 0:
        print(f"  the ceiling: {CEILING} challenges at full speed, nonce_expire 30 (stock: 100,000 per 30 s at most)")
        with tempfile.TemporaryDirectory() as tmp:
            for name, module in (("stock", STOCK), ("ours", OURS)):
                got, wall = ceiling(module, tmp)
                print(f"    {name:5}: {got} of {CEILING} challenged in {wall:.1f} s ({CEILING / wall:,.0f}/s sent)")
    return ok_all


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
