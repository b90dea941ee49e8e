#!/usr/bin/env python3
"""make bench-reg N=...: remote registrations, stock uac.so against ours.

For each module: N uacreg rows in a fresh SQLite file, a sipp registrar that
challenges every REGISTER (401 MD5, qop=auth) and checks the answer (sipp's
verifyauth), grants 3600 s. Prints, side by side:
- seconds from start until sipp has completed N registrations (challenge
  answered and 200 sent);
- Kamailio CPU seconds (all its processes) until then;
- shared memory in use per account at that moment (core.shmmem real_used / N);
- Kamailio CPU seconds over IDLE seconds afterwards (nothing is due).

Stock runs with -M/-m from STOCK_MEM (default 1024 1024: it reads the whole
table into private memory); ours with Kamailio's defaults (-M 8 -m 64) unless
OUR_MEM says otherwise. Each Kamailio host of BENCH_HOSTS (bench/hosts.py:
Debian's 5.6.3, the 6.1.4 build) in turn, each module against the stock one
of its version.
"""

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

import hosts

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HZ = os.sysconf("SC_CLK_TCK")
# the host being measured (main sets it)
HOST = None


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def make_db(path, n, reg_port):
    db = sqlite3.connect(path)
    for f in ("standard-create.sql", "uac-create.sql"):
        db.executescript(HOST.schema("db_sqlite/" + f))
    rows = (
        (
            f"u{i}", f"user{i}", "local.test", f"user{i}", f"127.0.0.1:{reg_port}",
            "", "alice", "secret", "", f"sip:127.0.0.1:{reg_port}", 3600, 0, 0, "", "",
        )
        for i in range(n)
    )
    db.executemany(
        "INSERT INTO uacreg (l_uuid,l_username,l_domain,r_username,r_domain,realm,"
        "auth_username,auth_password,auth_ha1,auth_proxy,expires,flags,reg_delay,"
        "contact_addr,socket) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    db.commit()
    db.close()


CFG = """#!KAMAILIO
debug=1
log_stderror=yes
children=2
listen=udp:127.0.0.1:{port}
mpath="{mpath}"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "kex.so"
loadmodule "ctl.so"
loadmodule "db_sqlite.so"
loadmodule "{module}"
modparam("ctl", "binrpc", "unix:{ctl}")
modparam("uac", "restore_mode", "none")
modparam("uac", "reg_db_url", "sqlite://{db}")
modparam("uac", "reg_contact_addr", "127.0.0.1:{port}")
modparam("uac", "reg_timer_interval", 10)
modparam("uac", "reg_retry_interval", 10)
request_route {{ sl_send_reply("404", "Not here"); }}
"""


def cpu_of(main_pid):
    """utime+stime (s) of the main process and its children."""
    pids = [main_pid]
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(main_pid)],
                         capture_output=True, text=True).stdout
    pids += [int(x) for x in out.split()]
    total = 0
    for p in pids:
        try:
            f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            total += int(f[11]) + int(f[12])
        except OSError:
            pass
    return total / HZ


def sipp_done(stat_file):
    """Successful calls sipp reports in its statistics CSV (last line)."""
    try:
        lines = open(stat_file).read().strip().splitlines()
    except OSError:
        return 0
    if len(lines) < 2:
        return 0
    head = lines[0].split(";")
    last = lines[-1].split(";")
    try:
        return int(last[head.index("SuccessfulCall(C)")])
    except (ValueError, IndexError):
        return 0


def shm_used(ctl):
    out = subprocess.run([HOST.kamcmd, "-s", "unix:" + ctl, "core.shmmem"],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "real_used" in line:
            return int(line.split(":")[1])
    return 0


def run(name, module, n, mem, idle):
    tmp = tempfile.mkdtemp(prefix="bench-reg-")
    reg_port, port = free_port(), free_port()
    make_db(os.path.join(tmp, "uac.db"), n, reg_port)
    scen = open(os.path.join(ROOT, "tests/fixtures/registrar-verifyauth.xml")).read()
    # A wrong answer gets 403 and then counts as a failed call (a receive that
    # times out), so that SuccessfulCall counts registrations only.
    scen = scen.replace('<send next="end">', "<send>").replace(
        '<label id="good"/>', '<recv request="ACK" timeout="100"/>\n  <label id="good"/>')
    open(os.path.join(tmp, "reg.xml"), "w").write(scen.replace("GRANTED", "3600"))
    ctl = os.path.join(tmp, "ctl.sock")
    open(os.path.join(tmp, "k.cfg"), "w").write(CFG.format(
        port=port, mpath=HOST.mpath, module=module, ctl=ctl, db=os.path.join(tmp, "uac.db")))
    stat = os.path.join(tmp, "sipp.csv")
    sipp = subprocess.Popen(
        ["sipp", "-sf", os.path.join(tmp, "reg.xml"), "-i", "127.0.0.1", "-p", str(reg_port),
         "-nostdin", "-trace_stat", "-stf", stat, "-fd", "1", "-max_socket", "1000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    t0 = time.time()
    log = open(os.path.join(tmp, "k.log"), "w")
    k = subprocess.Popen([HOST.bin, "-DD", "-E", "-M", mem[0], "-m", mem[1],
                          "-f", os.path.join(tmp, "k.cfg"), "-Y", tmp],
                         stdout=subprocess.DEVNULL, stderr=log)
    res = {"name": name, "shm_idle": None}
    try:
        deadline = t0 + float(os.environ.get("TIMEOUT", "600"))
        done = 0
        last = 0
        while time.time() < deadline and k.poll() is None:
            done = sipp_done(stat)
            if done >= n:
                break
            if time.time() - last > 5:
                last = time.time()
                print(f"  {name}: {done} registered after {time.time() - t0:.0f} s",
                      file=sys.stderr, flush=True)
            time.sleep(0.2)
        res["done"] = done
        res["secs"] = time.time() - t0 if done >= n else None
        res["cpu"] = cpu_of(k.pid)
        res["shm"] = shm_used(ctl) / n if k.poll() is None else None
        if done >= n and idle > 0:
            c0 = cpu_of(k.pid)
            time.sleep(idle)
            res["idle"] = cpu_of(k.pid) - c0
            # steady state: tm's finished transactions are gone by now
            res["shm_idle"] = shm_used(ctl) / n if k.poll() is None else None
        else:
            res["idle"] = None
        res["alive"] = k.poll() is None
        if not res["alive"]:
            print(f"  {name}: kamailio exited ({k.returncode})", file=sys.stderr)
    finally:
        k.send_signal(signal.SIGTERM)
        try:
            k.wait(10)
        except subprocess.TimeoutExpired:
            k.kill()
        sipp.kill()
        sipp.wait()
        log.close()
        errs = [l for l in open(os.path.join(tmp, "k.log")) if "ERROR" in l]
        res["errors"] = len(errs)
        res["first_error"] = errs[0].strip() if errs else ""
        if not os.environ.get("KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"  kept {tmp}", file=sys.stderr)
    return res


def fmt(v, f="{:.1f}"):
    return "-" if v is None else f.format(v)


def main():
    global HOST
    for h in hosts.hosts():
        HOST = h
        one_host(h)


def one_host(h):
    n = int(os.environ.get("N", sys.argv[1] if len(sys.argv) > 1 else "10000"))
    idle = int(os.environ.get("IDLE", "60"))
    stock_mem = os.environ.get("STOCK_MEM", "1024 1024").split()
    our_mem = os.environ.get("OUR_MEM", "8 64").split()
    which = os.environ.get("ONLY", "stock,ours").split(",")
    results = []
    if "stock" in which:
        results.append(run(f"stock -M {stock_mem[0]} -m {stock_mem[1]}", h.stock("uac.so"), n, stock_mem, idle))
    if "ours" in which:
        results.append(run(f"ours  -M {our_mem[0]} -m {our_mem[1]}", h.ours("uac.so"), n, our_mem, idle))
    print(f"\nKamailio {h.version}: N = {n} accounts, sipp registrar challenging every REGISTER, "
          f"idle window {idle} s")
    print("shm B/acct: core.shmmem real_used / N when all are registered (tm transactions")
    print("included) and after the idle window (records only, plus Kamailio's own use)")
    print(f"{'module':24} {'registered':>10} {'secs':>8} {'CPU s':>8} {'shm B/acct':>11} {'idle shm':>9} {'idle CPU s':>11} {'errors':>7}")
    for r in results:
        print(f"{r['name']:24} {r['done']:>10} {fmt(r['secs']):>8} {fmt(r['cpu'], '{:.2f}'):>8} "
              f"{fmt(r['shm'], '{:.0f}'):>11} {fmt(r['shm_idle'], '{:.0f}'):>9} "
              f"{fmt(r['idle'], '{:.2f}'):>11} {r['errors']:>7}")
        if r["first_error"]:
            print(f"  first error: {r['first_error'][:200]}")
    if len(results) == 2 and all(r["cpu"] for r in results):
        s, o = results
        print(f"CPU ours/stock: {o['cpu'] / s['cpu']:.2f}", flush=True)


if __name__ == "__main__":
    main()
