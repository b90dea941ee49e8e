#!/usr/bin/env python3
"""make bench (OpenSIPS part): the same cfg and the same sipp load as the
Kamailio bench (INVITE, 401, authenticated INVITE, 200, ACK, BYE; bench/uac.xml
and bench/uas-401-auth.xml) through OpenSIPS 3.6.8 (.cache/opensips) with the
stock uac + uac_auth and with ours, rounds alternating; prints OpenSIPS's CPU
time per authenticated call for each and the ratio ours/stock. Timings are
reported, never asserted.

Then the instructions of the SIP worker per call under callgrind (one UDP
worker, a slow rate), which do not vary from run to run the way CPU time on a
shared machine does.

env: BENCH_CALLS (default 2000), BENCH_RATE (calls/s, default 200), BENCH_ROUNDS (2),
     BENCH_CG_CALLS (calls under callgrind, default 100; 0 skips it)
"""
import glob
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the Kamailio bench's helpers: ports, sipp, CPU time)

ROOT = run.ROOT
PREFIX = os.path.join(ROOT, ".cache/opensips")
BIN = os.path.join(PREFIX, "sbin/opensips")
MPATH = os.path.join(PREFIX, "lib64/opensips/modules/")

CFG = """log_level=1
stderror_enabled=yes
syslog_enabled=no
udp_workers=2
socket=udp:127.0.0.1:{port}
mpath="{mpath}"
loadmodule "proto_udp.so"
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "rr.so"
loadmodule "sipmsgops.so"
loadmodule "maxfwd.so"
loadmodule "{uac_auth}"
loadmodule "{uac}"
modparam("rr", "append_fromtag", 1)
modparam("uac_auth", "credential", "bob:static.test:static-secret")
route {{
    if (has_totag()) {{
        if (loose_route()) t_relay();
        else if (is_method("ACK")) t_relay();
        exit;
    }}
    record_route();
    t_on_failure("auth");
    $du = "{next_hop}";
    t_relay();
}}
failure_route[auth] {{
    if (t_check_status("401|407") && uac_auth()) {{
        $du = "{next_hop}";
        t_relay();
    }}
}}
"""


def run_once(pair, tmp):
    port, uas_port, uac_port = run.free_port(), run.free_port(), run.free_port()
    uac_auth, uac = pair
    cfg = os.path.join(tmp, "opensips.cfg")
    open(cfg, "w").write(CFG.format(port=port, mpath=MPATH, uac_auth=uac_auth, uac=uac,
                                    next_hop=f"sip:127.0.0.1:{uas_port}"))
    log = os.path.join(tmp, "opensips.log")
    cmd = [BIN, "-F", "-m", "128", "-M", "16", "-f", cfg, "-w", tmp]
    with run.running(cmd, port, log) as k:
        before = run.cpu_seconds(k.pid)
        t0 = time.time()
        uac_rc, uas = run.sipp_pair(tmp, port, uas_port, uac_port, run.CALLS, run.RATE)
        wall = time.time() - t0
        used = run.cpu_seconds(k.pid) - before
        uas_rc = run.finish(uas, 60)
    return used, wall, uac_rc == 0 and uas_rc == 0


def instructions_per_call(pair, tmp):
    """Instructions of the SIP worker (the process that ran receive_msg) per
    call, counted by callgrind."""
    port, uas_port, uac_port = run.free_port(), run.free_port(), run.free_port()
    uac_auth, uac = pair
    cfg = os.path.join(tmp, "opensips-cg.cfg")
    text = CFG.format(port=port, mpath=MPATH, uac_auth=uac_auth, uac=uac,
                      next_hop=f"sip:127.0.0.1:{uas_port}")
    open(cfg, "w").write(text.replace("udp_workers=2", "udp_workers=1"))
    for f in glob.glob(os.path.join(tmp, "ocg.*")):
        os.remove(f)
    log = os.path.join(tmp, "opensips-cg.log")
    cmd = ["valgrind", "--tool=callgrind", "--trace-children=yes", f"--callgrind-out-file={tmp}/ocg.%p",
           BIN, "-F", "-m", "128", "-M", "16", "-f", cfg, "-w", tmp]
    with run.running(cmd, port, log, start_secs=60, settle=3):
        rc, uas = run.sipp_pair(tmp, port, uas_port, uac_port, run.CG_CALLS, 20)
        uas_rc = run.finish(uas, 120)
    worker = 0
    for f in glob.glob(os.path.join(tmp, "ocg.*")):
        txt = open(f, errors="replace").read()
        m = re.search(r"^summary:\s*(\d+)", txt, re.M)
        if m and "receive_msg" in txt:
            worker += int(m.group(1))
    return worker / run.CG_CALLS, rc == 0 and uas_rc == 0


def main():
    if not os.path.exists(BIN):
        raise SystemExit("OpenSIPS not built: run scripts/setup-opensips")
    stock = (os.path.join(MPATH, "uac_auth.so"), os.path.join(MPATH, "uac.so"))
    ours = (os.path.join(ROOT, "build/opensips/uac_auth.so"), os.path.join(ROOT, "build/opensips/uac.so"))
    mixed = (ours[0], stock[1])
    totals = {"stock": [0.0, 0], "ours": [0.0, 0], "stock uac + our uac_auth": [0.0, 0]}
    print(f"OpenSIPS 3.6.8: {run.CALLS} authenticated calls per round at {run.RATE}/s, {run.ROUNDS} rounds")
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(run.ROUNDS):
            for name, pair in (("stock", stock), ("ours", ours), ("stock uac + our uac_auth", mixed)):
                used, wall, ok = run_once(pair, tmp)
                print(f"  round {r + 1} {name:26s} cpu {used:7.3f} s  wall {wall:6.1f} s  "
                      f"{1e6 * used / run.CALLS:8.1f} us/call  {'ok' if ok else 'SIPP FAILED'}")
                if ok:
                    totals[name][0] += used
                    totals[name][1] += run.CALLS
    per = {n: (t / c if c else float("nan")) for n, (t, c) in totals.items()}
    for n, v in per.items():
        print(f"OpenSIPS {n:26s} {1e6 * v:8.1f} us CPU per authenticated call")
    print(f"OpenSIPS ratio ours/stock (uac + uac_auth): {per['ours'] / per['stock']:.3f}")
    print(f"OpenSIPS ratio (stock uac + our uac_auth)/stock: {per['stock uac + our uac_auth'] / per['stock']:.3f}")
    if run.CG_CALLS <= 0:
        return
    print(f"\nOpenSIPS instructions per call in the SIP worker (callgrind, {run.CG_CALLS} calls, deterministic):")
    ins = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, pair in (("stock", stock), ("ours", ours), ("stock uac + our uac_auth", mixed)):
            n, ok = instructions_per_call(pair, tmp)
            ins[name] = n
            print(f"  {name:26s} {n:12,.0f}  {'ok' if ok else 'SIPP FAILED'}")
    print(f"OpenSIPS instructions ratio ours/stock: {ins['ours'] / ins['stock']:.4f}")
    print(f"OpenSIPS instructions ratio (stock uac + our uac_auth)/stock: "
          f"{ins['stock uac + our uac_auth'] / ins['stock']:.4f}")


if __name__ == "__main__":
    main()
