#!/usr/bin/env python3
"""make bench: the same cfg (examples/uac-auth.cfg) and the same sipp load
(INVITE, 401, authenticated INVITE, 200, ACK, BYE) through Kamailio with the stock
uac.so and with ours, alternating; prints Kamailio's CPU time per call for each
and the ratio ours/stock. Timings are reported, never asserted.

env: BENCH_CALLS (default 2000), BENCH_RATE (calls/s, default 200), BENCH_ROUNDS (2)
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STOCK = "/usr/lib/x86_64-linux-gnu/kamailio/modules/uac.so"
OURS = os.path.join(ROOT, "build/kamailio/uac.so")
MPATH = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"
CALLS = int(os.environ.get("BENCH_CALLS", "2000"))
RATE = int(os.environ.get("BENCH_RATE", "200"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def port_bound(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def cpu_ticks(pid):
    """utime+stime of kamailio's main process and all its children."""
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = open(f"/proc/{d}/stat").read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        ppid = int(fields[1])
        if int(d) == pid or ppid == pid:
            total += int(fields[11]) + int(fields[12])
    return total


def run_once(module, tmp):
    kport, uas_port, uac_port = free_port(), free_port(), free_port()
    cfg = open(os.path.join(ROOT, "examples/uac-auth.cfg")).read()
    cfg = (cfg.replace('"UAC_MODULE"', f'"{module}"')
              .replace("LISTEN", f"udp:127.0.0.1:{kport}")
              .replace("NEXT_HOP", f"sip:127.0.0.1:{uas_port}")
              .replace("MPATH", MPATH)
              .replace("debug=2", "debug=1"))
    cfg_path = os.path.join(tmp, "bench.cfg")
    open(cfg_path, "w").write(cfg)
    log = open(os.path.join(tmp, "kamailio.log"), "w")
    k = subprocess.Popen(["kamailio", "-DD", "-E", "-m", "128", "-M", "16", "-f", cfg_path, "-Y", tmp],
                         stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.time() + 10
    while not port_bound(kport):
        if k.poll() is not None or time.time() > deadline:
            raise SystemExit(f"kamailio did not start; see {log.name}")
        time.sleep(0.05)
    time.sleep(0.5)
    uas = subprocess.Popen(["sipp", "-sf", os.path.join(ROOT, "bench/uas-401-auth.xml"), "-i", "127.0.0.1",
                            "-p", str(uas_port), "-m", str(CALLS), "-nostdin", "-timeout", "120s",
                            "-trace_stat", "-stf", os.path.join(tmp, "uas.csv")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    before = cpu_ticks(k.pid)
    t0 = time.time()
    uac = subprocess.run(["sipp", "-sf", os.path.join(ROOT, "bench/uac.xml"), f"127.0.0.1:{kport}",
                          "-i", "127.0.0.1", "-p", str(uac_port), "-r", str(RATE), "-m", str(CALLS),
                          "-nostdin", "-timeout", "120s"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.time() - t0
    used = cpu_ticks(k.pid) - before
    uas_rc = uas.wait(timeout=60)
    k.send_signal(signal.SIGTERM)
    k.wait(timeout=10)
    ok = uac.returncode == 0 and uas_rc == 0
    return used / TICK, wall, ok


def main():
    if not os.path.exists(OURS):
        raise SystemExit("build/kamailio/uac.so missing: run make")
    results = {"stock": [], "ours": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(ROUNDS):
            for name, module in (("stock", STOCK), ("ours", OURS)):
                cpu, wall, ok = run_once(module, tmp)
                per_call = cpu / CALLS * 1000
                print(f"round {r + 1} {name:5}: {CALLS} calls in {wall:5.1f} s, kamailio CPU {cpu:6.2f} s "
                      f"= {per_call:.3f} ms/call{'' if ok else '  (sipp reported failed calls!)'}", flush=True)
                results[name].append((per_call, ok))
    s = sum(p for p, _ in results["stock"]) / ROUNDS
    o = sum(p for p, _ in results["ours"]) / ROUNDS
    print(f"\nkamailio CPU per call (INVITE, 401, auth INVITE, 200, ACK, BYE), mean of {ROUNDS} rounds:")
    print(f"  stock uac.so: {s:.3f} ms/call")
    print(f"  ours:         {o:.3f} ms/call")
    print(f"  ratio ours/stock: {o / s:.3f}")
    if not all(ok for v in results.values() for _, ok in v):
        print("WARNING: some runs had failed calls; the numbers are not comparable")
        sys.exit(1)


if __name__ == "__main__":
    main()
