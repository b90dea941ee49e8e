#!/usr/bin/env python3
"""make bench: the same cfg (examples/uac-auth.cfg) and the same sipp load
(INVITE, 401, authenticated INVITE, 200, ACK, BYE) through Kamailio with the stock
uac.so and with ours, alternating; prints Kamailio's CPU time per call for each
and the ratio ours/stock. Timings are reported, never asserted.

Two measures:
- CPU time of all kamailio processes (/proc/PID/schedstat) under a sipp load,
  rounds alternating stock/ours; noisy, because Kamailio's own allocator
  (qm_malloc) dominates and varies from run to run;
- instructions per call of the SIP worker under callgrind (children=1, a slow
  rate): deterministic, the figure to compare.

Every section runs for each Kamailio host of BENCH_HOSTS (bench/hosts.py:
Debian's 5.6.3 and the 6.1.4 build, each module against the stock one of the
same version), one after the other in one run.

env: BENCH_CALLS (default 2000), BENCH_RATE (calls/s, default 200), BENCH_ROUNDS (2),
     BENCH_CG_CALLS (calls under callgrind, default 100; 0 skips it),
     BENCH_HOSTS (default "5.6,6.1")
"""
import contextlib
import glob
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

import hosts

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The host being measured (use_host): its binary, stock modules and ours.
HOST = None
KAMAILIO = "kamailio"
STOCK = "/usr/lib/x86_64-linux-gnu/kamailio/modules/uac.so"
OURS = os.path.join(ROOT, "build/kamailio/uac.so")
MPATH = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"

CALLS = int(os.environ.get("BENCH_CALLS", "2000"))
CG_CALLS = int(os.environ.get("BENCH_CG_CALLS", "100"))
RATE = int(os.environ.get("BENCH_RATE", "200"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))


def use_host(h):
    global HOST, KAMAILIO, STOCK, OURS, MPATH
    HOST, KAMAILIO, MPATH = h, h.bin, h.mpath
    STOCK, OURS = h.stock("uac.so"), h.ours("uac.so")


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


def cpu_seconds(pid):
    """CPU time (ns precision, /proc/PID/schedstat) of kamailio's main process and
    all its children; /proc/PID/stat counts 10 ms ticks, too coarse here."""
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = open(f"/proc/{d}/stat").read()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            if int(d) == pid or ppid == pid:
                total += int(open(f"/proc/{d}/schedstat").read().split()[0])
        except (OSError, ValueError):
            continue
    return total / 1e9


def write_cfg(module, tmp, kport, next_hop, example="uac-auth.cfg", extra=(), defines=(), name="bench.cfg"):
    """Fills an example cfg's placeholders (quiet logging); `extra` are more
    (old, new) replacements, `defines` go after the first line. Returns its path."""
    cfg = open(os.path.join(ROOT, "examples", example)).read()
    for old, new in (('"UAC_MODULE"', f'"{module}"'), ("LISTEN", f"udp:127.0.0.1:{kport}"),
                     ("NEXT_HOP", next_hop), ("MPATH", MPATH), ("debug=2", "debug=1"), *extra):
        cfg = cfg.replace(old, new)
    first, rest = cfg.split("\n", 1)
    cfg = "\n".join([first, *(f"#!define {d}" for d in defines), rest])
    cfg_path = os.path.join(tmp, name)
    open(cfg_path, "w").write(cfg)
    return cfg_path


def sipp_pair(tmp, kport, uas_port, uac_port, calls, rate):
    """Starts the UAS, runs the UAC to the end; returns (uac rc, uas process)."""
    uas = subprocess.Popen(["sipp", "-sf", os.path.join(ROOT, "bench/uas-401-auth.xml"), "-i", "127.0.0.1",
                            "-p", str(uas_port), "-m", str(calls), "-nostdin", "-timeout", "300s"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    try:
        uac = subprocess.run(["sipp", "-sf", os.path.join(ROOT, "bench/uac.xml"), f"127.0.0.1:{kport}",
                              "-i", "127.0.0.1", "-p", str(uac_port), "-r", str(rate), "-m", str(calls),
                              "-nostdin", "-timeout", "300s"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    except subprocess.TimeoutExpired:
        return -1, uas
    return uac.returncode, uas


def wait_bound(k, kport, log, secs):
    deadline = time.time() + secs
    while not port_bound(kport):
        if k.poll() is not None or time.time() > deadline:
            raise SystemExit(f"kamailio did not start; see {log}")
        time.sleep(0.1)


@contextlib.contextmanager
def running(cmd, kport, log, start_secs=10, settle=0.5):
    """Starts kamailio (cmd), waits for its port, and always stops it."""
    k = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    try:
        wait_bound(k, kport, log, start_secs)
        time.sleep(settle)
        yield k
    finally:
        stop(k)


def finish(p, secs):
    """Exit code of a sipp process, killing it if it has not ended in `secs`."""
    try:
        return p.wait(timeout=secs)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return -1


def instructions_per_call(module, tmp):
    """Instructions of the SIP worker per call, counted by callgrind."""
    kport, uas_port, uac_port = free_port(), free_port(), free_port()
    cfg_path = write_cfg(module, tmp, kport, f"sip:127.0.0.1:{uas_port}", extra=[("children=2", "children=1")])
    for f in glob.glob(os.path.join(tmp, "cg.*")):
        os.remove(f)
    log = os.path.join(tmp, "kamailio-cg.log")
    cmd = ["valgrind", "--tool=callgrind", "--trace-children=yes", f"--callgrind-out-file={tmp}/cg.%p",
           KAMAILIO, "-DD", "-E", "-m", "128", "-M", "16", "-f", cfg_path, "-Y", tmp]
    with running(cmd, kport, log, start_secs=60, settle=3):
        rc, uas = sipp_pair(tmp, kport, uas_port, uac_port, CG_CALLS, 20)
        uas_rc = finish(uas, 120)
    worker = 0
    for f in glob.glob(os.path.join(tmp, "cg.*")):
        txt = open(f, errors="replace").read()
        m = re.search(r"^summary:\s*(\d+)", txt, re.M)
        if m and "receive_msg" in txt:
            worker += int(m.group(1))
    return worker / CG_CALLS, rc == 0 and uas_rc == 0


def run_once(module, tmp):
    kport, uas_port, uac_port = free_port(), free_port(), free_port()
    cfg_path = write_cfg(module, tmp, kport, f"sip:127.0.0.1:{uas_port}")
    log = os.path.join(tmp, "kamailio.log")
    cmd = [KAMAILIO, "-DD", "-E", "-m", "128", "-M", "16", "-f", cfg_path, "-Y", tmp]
    with running(cmd, kport, log) as k:
        before = cpu_seconds(k.pid)
        t0 = time.time()
        uac_rc, uas = sipp_pair(tmp, kport, uas_port, uac_port, CALLS, RATE)
        wall = time.time() - t0
        used = cpu_seconds(k.pid) - before
        uas_rc = finish(uas, 60)
    ok = uac_rc == 0 and uas_rc == 0
    return used, wall, ok


SEND_TOTAL = int(os.environ.get("BENCH_SEND_TOTAL", "10000"))
SEND_TICK = int(os.environ.get("BENCH_SEND_TICK", "1000"))


def stop(k):
    """SIGTERM, then SIGKILL if kamailio is still busy after 30 s."""
    k.send_signal(signal.SIGTERM)
    try:
        k.wait(timeout=30)
    except subprocess.TimeoutExpired:
        k.kill()
        k.wait()


def send_burst(module, auth, tmp):
    """uac_req_send: SEND_TOTAL OPTIONS from an rtimer route (SEND_TICK a second)
    to a sipp UAS (with auth: 401, answered, 200). Returns (CPU s, ok)."""
    kport, uas_port = free_port(), free_port()
    cfg_path = write_cfg(module, tmp, kport, f"sip:bench@127.0.0.1:{uas_port}", example="uac-send.cfg",
                         extra=[("BURST_TOTAL", str(SEND_TOTAL)), ("BURST_TICK", str(SEND_TICK)),
                                ("BURST_AUTH", "1" if auth else "0")],
                         defines=["WITH_BURST"],
                         name="send.cfg")
    scenario = "bench/uas-options-401.xml" if auth else "bench/uas-options.xml"
    uas = subprocess.Popen(["sipp", "-sf", os.path.join(ROOT, scenario), "-i", "127.0.0.1", "-p", str(uas_port),
                            "-m", str(SEND_TOTAL), "-nostdin", "-timeout", "120s"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    log = os.path.join(tmp, "send.log")
    cmd = [KAMAILIO, "-DD", "-E", "-m", "256", "-M", "16", "-f", cfg_path, "-Y", tmp]
    try:
        with running(cmd, kport, log, settle=0) as k:
            before = cpu_seconds(k.pid)
            uas_rc = finish(uas, 180)
            used = cpu_seconds(k.pid) - before
    finally:
        finish(uas, 0)
    return used, uas_rc == 0


def send_section():
    print(f"\nuac_req_send: {SEND_TOTAL} OPTIONS from a timer route, kamailio CPU per request:")
    with tempfile.TemporaryDirectory() as tmp:
        for auth in (False, True):
            per = {}
            ok_all = True
            for name, module in (("stock", STOCK), ("ours", OURS)):
                cpu, ok = send_burst(module, auth, tmp)
                per[name] = cpu / SEND_TOTAL * 1e6
                ok_all = ok_all and ok
            label = "with 401 + auth" if auth else "no auth        "
            print(f"  {label}: stock {per['stock']:7.1f} us, ours {per['ours']:7.1f} us, "
                  f"ratio {per['ours'] / per['stock']:.3f}{'' if ok_all else '  (failed requests!)'}")
            if not ok_all:
                return False
    return True


def main():
    all_ok = True
    for h in hosts.hosts():
        use_host(h)
        print(f"\n==== Kamailio {h.version}: ours ({h.ours_dir}) against its stock modules ====", flush=True)
        all_ok = host_sections() and all_ok
    if not all_ok:
        print("WARNING: some runs had failed calls; the numbers are not comparable")
        sys.exit(1)


def host_sections():
    if sys.argv[1:] == ["auth"]:
        import auth_bench
        return auth_bench.auth_section(sys.modules[__name__])
    if not os.path.exists(OURS):
        raise SystemExit(f"{OURS} missing: run make")
    results = {"stock": [], "ours": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(ROUNDS):
            for name, module in (("stock", STOCK), ("ours", OURS)):
                cpu, wall, ok = run_once(module, tmp)
                per_call = cpu / CALLS * 1000
                print(f"round {r + 1} {name:5}: {CALLS} calls in {wall:5.1f} s, kamailio CPU {cpu:6.2f} s "
                      f"= {per_call:.3f} ms/call{'' if ok else '  (sipp reported failed calls!)'}", flush=True)
                results[name].append((per_call, ok))
    if ROUNDS > 0:
        s = sum(p for p, _ in results["stock"]) / ROUNDS
        o = sum(p for p, _ in results["ours"]) / ROUNDS
        print(f"\nkamailio {HOST.version} CPU per authenticated call (INVITE, 401, auth INVITE, 200, ACK, BYE), "
              f"mean of {ROUNDS} rounds:")
        print(f"  stock uac.so: {s:.3f} ms/call")
        print(f"  ours:         {o:.3f} ms/call")
        print(f"  ratio ours/stock: {o / s:.3f}")
    all_ok = all(ok for v in results.values() for _, ok in v)
    if CG_CALLS > 0:
        with tempfile.TemporaryDirectory() as tmp:
            ir = {}
            for name, module in (("stock", STOCK), ("ours", OURS)):
                ir[name], ok = instructions_per_call(module, tmp)
                all_ok = all_ok and ok
        print(f"\ninstructions per call in the SIP worker (callgrind, {CG_CALLS} calls, deterministic):")
        print(f"  stock uac.so: {ir['stock']:,.0f}")
        print(f"  ours:         {ir['ours']:,.0f}")
        print(f"  ratio ours/stock: {ir['ours'] / ir['stock']:.4f}")
    if os.environ.get("BENCH_SEND", "1") != "0":
        all_ok = send_section() and all_ok
    if os.environ.get("BENCH_AUTH", "1") != "0":
        import auth_bench
        all_ok = auth_bench.auth_section(sys.modules[__name__]) and all_ok
    return all_ok


if __name__ == "__main__":
    main()
