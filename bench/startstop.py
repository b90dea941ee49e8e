#!/usr/bin/env python3
"""Start/stop time of Debian's Kamailio 5.6.3 and of the 6.1.4 that
scripts/setup-kamailio61 builds, on the same cfg (tests/fixtures/k61-stock.cfg:
every stock module the tests load, the stock uac with one uacreg row), as the
test harness starts and stops them (-DD -E -m 64 -M 8, ready once the SIP
port is bound; SIGTERM, then wait for the exit). For planning how long the
integration tests take on each host (issue 18); never a pass/fail test.

    python3 bench/startstop.py [rounds]     # default 10
"""
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import free_port, port_bound  # noqa: E402 (bench/run.py's helpers)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
K61 = os.path.join(ROOT, ".cache/kamailio61/install")
HOSTS = {
    "5.6.3": ("/usr/sbin/kamailio", "/usr/lib/x86_64-linux-gnu/kamailio/modules/",
              "/usr/share/kamailio/db_sqlite"),
    "6.1.4": (K61 + "/sbin/kamailio", K61 + "/lib64/kamailio/modules/",
              K61 + "/share/kamailio/db_sqlite"),
}


def one(host, d):
    binary, mpath, schema = HOSTS[host]
    port = free_port()
    db = os.path.join(d, "uac.db")
    if os.path.exists(db):
        os.remove(db)
    sql = open(os.path.join(schema, "standard-create.sql")).read()
    sql += open(os.path.join(schema, "uac-create.sql")).read()
    sql += ("INSERT INTO uacreg (l_uuid,l_username,l_domain,r_username,r_domain,realm,"
            "auth_username,auth_password,auth_ha1,auth_proxy,expires,flags,reg_delay,"
            "contact_addr,socket) VALUES ('u1','alice','local.test','alice',"
            f"'127.0.0.1:{free_port()}','','alice','secret','','',60,0,0,'','');\n")
    subprocess.run(["sqlite3", db], input=sql.encode(), check=True)
    cfg = open(os.path.join(ROOT, "tests/fixtures/k61-stock.cfg")).read()
    for k, v in [('"UAC_MODULE"', '"uac.so"'), ("LISTEN", f"udp:127.0.0.1:{port}"),
                 ("MPATH", mpath), ("CTL_SOCK", os.path.join(d, "ctl.sock")),
                 ("RPC_FIFO", os.path.join(d, "rpc.fifo")), ("REPLY_DIR", d + "/"),
                 ("DB_URL", "sqlite://" + db), ("CONTACT_ADDR", f"127.0.0.1:{port}")]:
        cfg = cfg.replace(k, v)
    path = os.path.join(d, "k.cfg")
    open(path, "w").write(cfg)
    log = open(os.path.join(d, "k.log"), "w")
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "-DD", "-E", "-m", "64", "-M", "8", "-f", path, "-Y", d],
                         stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    while not port_bound(port):
        if p.poll() is not None:
            sys.exit(f"{host}: kamailio exited at start-up, log in {d}/k.log")
        if time.monotonic() - t0 > 20:
            sys.exit(f"{host}: not ready after 20 s")
        time.sleep(0.01)
    ready = time.monotonic() - t0
    time.sleep(0.5)  # what the harness waits after the port is bound
    t1 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=20)
    stop = time.monotonic() - t1
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return ready, stop


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    for host in HOSTS:
        with tempfile.TemporaryDirectory(prefix=f"startstop-{host}-") as d:
            r = [one(host, d) for _ in range(rounds)]
        ready = [x[0] for x in r]
        stop = [x[1] for x in r]
        print(f"kamailio {host}: ready {statistics.median(ready)*1000:.0f} ms median "
              f"(min {min(ready)*1000:.0f}, max {max(ready)*1000:.0f}), "
              f"stop {statistics.median(stop)*1000:.0f} ms median "
              f"(min {min(stop)*1000:.0f}, max {max(stop)*1000:.0f}), {rounds} rounds")


if __name__ == "__main__":
    main()
