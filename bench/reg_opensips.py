#!/usr/bin/env python3
"""make bench-reg (OpenSIPS part): remote registrations, stock uac_registrant
against ours, in OpenSIPS 3.6.8 (built by scripts/setup-opensips).

For each module: N registrant rows in a fresh SQLite file, the sipp registrar
of bench/reg.py (401 MD5 qop=auth on every REGISTER, the answer checked,
3600 s granted). Both modules answer through the stock uac_auth (the
registrant is what is compared). Printed side by side:
- seconds from start until sipp has completed N registrations;
- OpenSIPS CPU seconds (all its processes) until then;
- shared memory in use per account then and after the idle window (MI
  get_statistics shmem:real_used_size / N: allocator overhead included);
- OpenSIPS CPU seconds over IDLE seconds afterwards (nothing is due).

Ours runs with OpenSIPS's default memory (no -m/-M: 32 MB shm, 16 MB pkg as
built). Stock runs with the defaults first; when it does not register all
(it runs out of shm loading the table), how it fails is printed and it runs
again with STOCK_MEM (default "1024 64": -m, -M; it sends every due REGISTER
at once, so it needs a transaction's shm for each of them).

Then two nodes of ours (clusterer over proto_bin, examples/
opensips-registrant-cluster.cfg) share the N rows by sharing tag: each
registers its half; node A stops, its tag is activated on B, and the time
until B has registered A's half is printed.
"""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reg import cpu_of, free_port, sipp_done  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREFIX = os.path.join(ROOT, ".cache/opensips")
BIN = os.path.join(PREFIX, "sbin/opensips")
MPATH = os.path.join(PREFIX, "lib64/opensips/modules/")
OURS = os.path.join(ROOT, "build/opensips/uac_registrant.so")
STOCK = MPATH + "uac_registrant.so"
# A run gives up after this many seconds (or 120 s without progress).
TIMEOUT = float(os.environ.get("TIMEOUT", "1200"))


def make_db(path, n, reg_port, tags=None):
    db = sqlite3.connect(path)
    sq = os.path.join(PREFIX, "share/opensips/sqlite")
    for f in ("standard-create.sql", "registrant-create.sql"):
        db.executescript(open(os.path.join(sq, f)).read())
    rows = (
        (
            f"sip:127.0.0.1:{reg_port}", f"sip:user{i}@sipp.test", "alice", "secret",
            f"sip:user{i}@trunks.test", 3600, tags[i % 2] if tags else None,
        )
        for i in range(n)
    )
    db.executemany(
        "INSERT INTO registrant (registrar, aor, username, password, binding_URI, expiry, "
        "cluster_shtag) VALUES (?,?,?,?,?,?,?)",
        rows,
    )
    db.commit()
    db.close()


CFG = """log_level=2
stderror_enabled=yes
syslog_enabled=no
udp_workers=2
socket=udp:127.0.0.1:{port}
mpath="{mpath}"
loadmodule "proto_udp.so"
loadmodule "mi_fifo.so"
loadmodule "tm.so"
loadmodule "db_sqlite.so"
loadmodule "uac_auth.so"
loadmodule "{module}"
modparam("mi_fifo", "fifo_name", "{tmp}/fifo")
modparam("mi_fifo", "reply_dir", "{tmp}/")
modparam("uac_registrant", "db_url", "sqlite://{db}")
modparam("uac_registrant", "timer_interval", 10)
# both: a failed registration again after 10 s (without it, after its expiry)
modparam("uac_registrant", "failure_retry_interval", 10)
route {{ exit; }}
"""


def mi(tmp, method, params="{}"):
    """One MI command through mi_fifo; the parsed JSON reply (None: none)."""
    name = f"r{time.monotonic_ns()}"
    reply = os.path.join(tmp, name)
    os.mkfifo(reply)
    try:
        # open for reading first: the server's open for writing finds a reader
        fd = os.open(reply, os.O_RDONLY | os.O_NONBLOCK)
        with open(os.path.join(tmp, "fifo"), "w") as f:
            f.write(f':{name}:{{"jsonrpc":"2.0","method":"{method}","params":{params},"id":1}}\n')
        data, deadline = b"", time.time() + 10
        while time.time() < deadline:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                chunk = None
            if chunk:
                data += chunk
                try:
                    return json.loads(data)
                except ValueError:
                    continue
            time.sleep(0.05)
        os.close(fd)
        return None
    except OSError:
        return None
    finally:
        os.unlink(reply)


def shm_used(tmp):
    r = mi(tmp, "get_statistics", '[["shmem:"]]')
    try:
        return int(r["result"]["shmem:real_used_size"])
    except (TypeError, KeyError, ValueError):
        return None


def start_sipp(tmp, reg_port):
    scen = open(os.path.join(ROOT, "tests/fixtures/registrar-verifyauth.xml")).read()
    scen = scen.replace('<send next="end">', "<send>").replace(
        '<label id="good"/>', '<recv request="ACK" timeout="100"/>\n  <label id="good"/>')
    open(os.path.join(tmp, "reg.xml"), "w").write(scen.replace("GRANTED", "3600"))
    stat = os.path.join(tmp, "sipp.csv")
    p = subprocess.Popen(
        ["sipp", "-sf", os.path.join(tmp, "reg.xml"), "-i", "127.0.0.1", "-p", str(reg_port),
         "-nostdin", "-trace_stat", "-stf", stat, "-fd", "1", "-max_socket", "1000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return p, stat


def start_osips(tmp, cfg_text, mem, log_name="o.log"):
    cfg = os.path.join(tmp, "o.cfg" if log_name == "o.log" else log_name + ".cfg")
    open(cfg, "w").write(cfg_text)
    args = [BIN, "-F", "-f", cfg, "-w", tmp]
    if mem:
        args += ["-m", mem[0], "-M", mem[1]]
    log = open(os.path.join(tmp, log_name), "w")
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True), log


def stop(p):
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def wait_done(name, stat, n, p, t0, timeout, stall=120):
    """Registrations sipp completed, waiting until n, the timeout, the
    process's end, or `stall` seconds without one."""
    done, last, moved, t_moved = 0, 0, -1, time.time()
    while time.time() < t0 + timeout and p.poll() is None:
        done = sipp_done(stat)
        if done >= n:
            break
        if done != moved:
            moved, t_moved = done, time.time()
        elif time.time() - t_moved > stall:
            print(f"  {name}: no progress for {stall} s, giving up", file=sys.stderr)
            break
        if time.time() - last > 5:
            last = time.time()
            print(f"  {name}: {done} registered after {time.time() - t0:.0f} s",
                  file=sys.stderr, flush=True)
        time.sleep(0.2)
    return done


def snapshot(module, tmp):
    """A copy of the module for this run (a rebuild meanwhile does not
    touch the file a running OpenSIPS has mapped)."""
    dst = os.path.join(tmp, os.path.basename(module))
    shutil.copy(module, dst)
    return dst


def run(name, module, n, mem, idle):
    tmp = tempfile.mkdtemp(prefix="bench-ureg-")
    module = snapshot(module, tmp)
    reg_port, port = free_port(), free_port()
    db = os.path.join(tmp, "reg.sqlite")
    make_db(db, n, reg_port)
    sipp, stat = start_sipp(tmp, reg_port)
    t0 = time.time()
    o, log = start_osips(tmp, CFG.format(port=port, mpath=MPATH, module=module, tmp=tmp, db=db), mem)
    res = {"name": name, "shm_idle": None, "idle": None}
    try:
        done = wait_done(name, stat, n, o, t0, TIMEOUT)
        res["done"] = done
        res["secs"] = time.time() - t0 if done >= n else None
        res["cpu"] = cpu_of(o.pid)
        used = shm_used(tmp) if o.poll() is None else None
        res["shm"] = used / n if used else None
        if done >= n and idle > 0:
            c0 = cpu_of(o.pid)
            time.sleep(idle)
            res["idle"] = cpu_of(o.pid) - c0
            used = shm_used(tmp)
            res["shm_idle"] = used / n if used else None
        res["alive"] = o.poll() is None
    finally:
        stop(o)
        sipp.kill()
        sipp.wait()
        log.close()
        lines = open(os.path.join(tmp, "o.log"), errors="replace").read().splitlines()
        errs = [l for l in lines if "ERROR" in l or "CRITICAL" in l]
        res["errors"] = len(errs)
        res["first_error"] = errs[0].strip() if errs else ""
        if not os.environ.get("KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"  kept {tmp}", file=sys.stderr)
    return res


def two_nodes(n, idle):
    """Ours on two nodes sharing n rows by tag; A stops, B takes over."""
    tmp = tempfile.mkdtemp(prefix="bench-ureg2-")
    reg_port = free_port()
    db = os.path.join(tmp, "reg.sqlite")
    make_db(db, n, reg_port, tags=("node_a/1", "node_b/1"))
    sipp, stat = start_sipp(tmp, reg_port)
    tpl = open(os.path.join(ROOT, "examples/opensips-registrant-cluster.cfg")).read()
    ours = snapshot(OURS, tmp)
    ports = [(free_port(), free_port()) for _ in range(2)]
    nodes = []
    for i, (sip, binp) in enumerate(ports):
        d = os.path.join(tmp, f"n{i}")
        os.makedirs(d)
        peer_bin = ports[1 - i][1]
        cfg = (tpl.replace("BIN_LISTEN", f"bin:127.0.0.1:{binp}")
               .replace("PEER_BIN_URL", f"bin:127.0.0.1:{peer_bin}")
               .replace("BIN_URL", f"bin:127.0.0.1:{binp}")
               .replace("LISTEN", f"udp:127.0.0.1:{sip}")
               .replace("PEER_ID", str(2 - i)).replace("NODE_ID", str(i + 1))
               .replace("TAG_A", "active" if i == 0 else "backup")
               .replace("TAG_B", "backup" if i == 0 else "active")
               .replace("MPATH", MPATH)
               .replace("UAC_AUTH_MODULE", MPATH + "uac_auth.so")
               .replace("REGISTRANT_MODULE", ours)
               .replace("DB_URL", f"sqlite://{db}")
               .replace("REPLY_DIR", d + "/").replace("FIFO", os.path.join(d, "fifo"))
               .replace("log_level=3", "log_level=2")
               .replace('"enable_clustering", 1)', '"enable_clustering", 1)\nmodparam("uac_registrant", "failure_retry_interval", 10)'))
        nodes.append((d,) + start_osips(d, cfg, None))
    res = {}
    try:
        t0 = time.time()
        res["done"] = wait_done("two nodes", stat, n, nodes[0][1], t0, TIMEOUT)
        res["secs"] = time.time() - t0 if res["done"] >= n else None
        time.sleep(3)
        res["cpu_a"], res["cpu_b"] = cpu_of(nodes[0][1].pid), cpu_of(nodes[1][1].pid)
        stop(nodes[0][1])
        t1 = time.time()
        r = mi(nodes[1][0], "clusterer_shtag_set_active", '{"tag":"node_a/1"}')
        res["set_active"] = r and r.get("result")
        target = n + (n + 1) // 2
        res["taken"] = wait_done("take-over", stat, target, nodes[1][1], t1, TIMEOUT) - n
        res["takeover_secs"] = time.time() - t1 if res["taken"] >= (n + 1) // 2 else None
    finally:
        for d, p, log in nodes:
            stop(p)
            log.close()
        sipp.kill()
        sipp.wait()
        if not os.environ.get("KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
    return res


def fmt(v, f="{:.1f}"):
    return "-" if v is None else f.format(v)


def main():
    n = int(os.environ.get("N", sys.argv[1] if len(sys.argv) > 1 else "100000"))
    idle = int(os.environ.get("IDLE", "60"))
    stock_mem = os.environ.get("STOCK_MEM", "1024 64").split()
    which = os.environ.get("ONLY", "stock,ours,cluster").split(",")
    results = []
    if "ours" in which:
        results.append(run("ours (default -m 32 -M 16)", OURS, n, None, idle))
    if "stock" in which:
        r = run("stock (default -m 32 -M 16)", STOCK, n, None, idle)
        results.append(r)
        if r["done"] < n:
            results.append(run(f"stock -m {stock_mem[0]} -M {stock_mem[1]}", STOCK, n, stock_mem, idle))
    if os.environ.get("OUR_MEM"):
        m = os.environ["OUR_MEM"].split()
        results.append(run(f"ours -m {m[0]} -M {m[1]}", OURS, n, m, idle))
    print(f"\nOpenSIPS 3.6.8: N = {n} registrant rows, sipp registrar challenging every REGISTER,"
          f" idle window {idle} s")
    print(f"{'module':30} {'registered':>10} {'secs':>8} {'CPU s':>8} {'shm B/acct':>11} "
          f"{'idle shm':>9} {'idle CPU s':>11} {'errors':>7}")
    for r in results:
        print(f"{r['name']:30} {r['done']:>10} {fmt(r['secs']):>8} {fmt(r['cpu'], '{:.2f}'):>8} "
              f"{fmt(r['shm'], '{:.0f}'):>11} {fmt(r['shm_idle'], '{:.0f}'):>9} "
              f"{fmt(r['idle'], '{:.2f}'):>11} {r['errors']:>7}")
        if r["first_error"]:
            print(f"  first error: {r['first_error'][:200]}")
    if "cluster" in which:
        c = two_nodes(n, idle)
        print(f"\nTwo nodes of ours (default memory each), {n} rows shared by sharing tag:")
        print(f"  all registered by their nodes: {c['done']} in {fmt(c.get('secs'))} s "
              f"(CPU A {fmt(c.get('cpu_a'), '{:.2f}')} s, B {fmt(c.get('cpu_b'), '{:.2f}')} s)")
        print(f"  node A stopped, its tag activated on B ({c.get('set_active')}): "
              f"{c['taken']} of A's {(n + 1) // 2} registered by B in {fmt(c.get('takeover_secs'))} s")


if __name__ == "__main__":
    main()
