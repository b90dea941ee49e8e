"""make bench, auth section: Kamailio CPU per authenticated REGISTER (REGISTER,
401 challenge, REGISTER with credentials verified through auth_db + SQLite,
200) with examples/auth-db.cfg, the stock auth.so against ours, rounds
alternating. Reported, never asserted.

env: BENCH_AUTH_REGS (default 3000), BENCH_AUTH_RATE (default 300/s),
     BENCH_AUTH_ROUNDS (default 2), BENCH_AUTH_CG_REGS (REGISTERs under
     callgrind, default 100; 0 skips it). `python3 bench/run.py auth` runs only this.
"""
import glob
import os
import re
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGS = int(os.environ.get("BENCH_AUTH_REGS", "3000"))
RATE = int(os.environ.get("BENCH_AUTH_RATE", "300"))
ROUNDS = int(os.environ.get("BENCH_AUTH_ROUNDS", "2"))
CG_REGS = int(os.environ.get("BENCH_AUTH_CG_REGS", "100"))


def make_db(run, tmp):
    db = os.path.join(tmp, "auth.sqlite")
    if os.path.exists(db):
        os.remove(db)
    sql = ""
    for f in ("standard-create.sql", "auth_db-create.sql", "group-create.sql"):
        sql += run.HOST.schema(f"db_sqlite/{f}")
    sql += "INSERT INTO subscriber (username, domain, password) VALUES ('alice', 'sip.test', 'alicepw');\n"
    subprocess.run(["sqlite3", db, sql], check=True)
    return db


def run_once(run, module, tmp):
    kport, uac_port = run.free_port(), run.free_port()
    db = make_db(run, tmp)
    cfg_path = run.write_cfg(module, tmp, kport, "", example="auth-db.cfg",
                             extra=[('"AUTH_MODULE"', f'"{module}"'), ("DB_URL", f"sqlite://{db}"),
                                    ("AUTH_SECRET", "bench-secret")],
                             name="auth.cfg")
    log = os.path.join(tmp, "auth.log")
    cmd = [run.KAMAILIO, "-DD", "-E", "-m", "128", "-M", "16", "-f", cfg_path, "-Y", tmp]
    with run.running(cmd, kport, log) as k:
        before = run.cpu_seconds(k.pid)
        t0 = time.time()
        rc = subprocess.run(["sipp", "-sf", os.path.join(ROOT, "bench/register-auth.xml"), f"127.0.0.1:{kport}",
                             "-i", "127.0.0.1", "-p", str(uac_port), "-r", str(RATE), "-m", str(REGS),
                             "-s", "alice", "-au", "alice", "-ap", "alicepw", "-nostdin", "-timeout", "300s"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600).returncode
        wall = time.time() - t0
        used = run.cpu_seconds(k.pid) - before
    return used, wall, rc == 0


def instructions_per_register(run, module, tmp):
    """Instructions of the SIP worker per authenticated REGISTER (callgrind,
    children=1): deterministic, unlike the CPU time."""
    kport, uac_port = run.free_port(), run.free_port()
    db = make_db(run, tmp)
    cfg_path = run.write_cfg(module, tmp, kport, "", example="auth-db.cfg",
                             extra=[('"AUTH_MODULE"', f'"{module}"'), ("DB_URL", f"sqlite://{db}"),
                                    ("AUTH_SECRET", "bench-secret"), ("children=2", "children=1")],
                             name="auth-cg.cfg")
    for f in glob.glob(os.path.join(tmp, "acg.*")):
        os.remove(f)
    log = os.path.join(tmp, "auth-cg.log")
    cmd = ["valgrind", "--tool=callgrind", "--trace-children=yes", f"--callgrind-out-file={tmp}/acg.%p",
           run.KAMAILIO, "-DD", "-E", "-m", "128", "-M", "16", "-f", cfg_path, "-Y", tmp]
    with run.running(cmd, kport, log, start_secs=60, settle=3):
        rc = subprocess.run(["sipp", "-sf", os.path.join(ROOT, "bench/register-auth.xml"), f"127.0.0.1:{kport}",
                             "-i", "127.0.0.1", "-p", str(uac_port), "-r", "20", "-m", str(CG_REGS),
                             "-s", "alice", "-au", "alice", "-ap", "alicepw", "-nostdin", "-timeout", "120s"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300).returncode
    worker = 0
    for f in glob.glob(os.path.join(tmp, "acg.*")):
        txt = open(f, errors="replace").read()
        m = re.search(r"^summary:\s*(\d+)", txt, re.M)
        if m and "receive_msg" in txt:
            worker += int(m.group(1))
    return worker / CG_REGS, rc == 0


def auth_section(run):
    STOCK_AUTH, OURS_AUTH = run.HOST.stock("auth.so"), run.HOST.ours("auth.so")
    if not os.path.exists(OURS_AUTH):
        raise SystemExit(f"{OURS_AUTH} missing: run make")
    print(f"\nauth ({run.HOST.version}): {REGS} authenticated REGISTERs (401 + auth_db/SQLite check), "
          f"kamailio CPU per REGISTER:")
    res = {"stock": [], "ours": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(ROUNDS):
            for name, module in (("stock", STOCK_AUTH), ("ours", OURS_AUTH)):
                cpu, wall, ok = run_once(run, module, tmp)
                per = cpu / REGS * 1e6
                print(f"  round {r + 1} {name:5}: {wall:5.1f} s, CPU {cpu:6.2f} s = {per:7.1f} us/REGISTER"
                      f"{'' if ok else '  (sipp reported failures!)'}", flush=True)
                res[name].append((per, ok))
    if ROUNDS > 0:
        s = sum(p for p, _ in res["stock"]) / ROUNDS
        o = sum(p for p, _ in res["ours"]) / ROUNDS
        print(f"  mean: stock {s:.1f} us, ours {o:.1f} us, ratio ours/stock {o / s:.3f}")
    all_ok = all(ok for v in res.values() for _, ok in v)
    if CG_REGS > 0:
        ir = {}
        with tempfile.TemporaryDirectory() as tmp:
            for name, module in (("stock", STOCK_AUTH), ("ours", OURS_AUTH)):
                ir[name], ok = instructions_per_register(run, module, tmp)
                all_ok = all_ok and ok
        print(f"  instructions per REGISTER in the SIP worker (callgrind, {CG_REGS} REGISTERs, deterministic):")
        print(f"    stock {ir['stock']:,.0f}, ours {ir['ours']:,.0f}, ratio ours/stock {ir['ours'] / ir['stock']:.4f}")
    return all_ok
