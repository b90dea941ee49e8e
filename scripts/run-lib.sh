# Shell functions for the run scripts (scripts/run-reg-example,
# scripts/run-opensips-reg-example): start servers in the background with their
# stderr in a log file and their notices and errors on the terminal, wait until
# they are ready, and stop them all on Ctrl-C, SIGTERM or exit.
# Sourced, not run. The caller sets PROG (its name, for messages).

PIDS=()   # main pid of each server started
NAMES=()  # its name, same index
FILTERS=()  # the last process of each log filter pipeline
TEMP_FILES=()  # removed on exit: the FIFOs to the log filters, the ports file

say() { echo "$PROG: $*"; }
die() { echo "$PROG: $*" >&2; exit 1; }

# Fails unless nothing listens on UDP 127.0.0.1:$1 ($2 names the variable to
# change).
need_free_port() {
	python3 - "$1" 2>/dev/null <<'PY' || die "udp:127.0.0.1:$1 is in use: pick another port, e.g. $2=$(( $1 + 2 ))"
import socket, sys
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(("127.0.0.1", int(sys.argv[1])))
PY
}

# start NAME LOG COMMAND...: runs COMMAND in the background; its stderr goes
# to LOG and, filtered to notices, warnings and errors, to the terminal with a
# [NAME] prefix. The filter reads a FIFO and is this script's child, not the
# server's: a server waits for all its children when it stops, and the filter
# only ends when the server (and every process it forked) has closed stderr.
start() {
	local name="$1" log="$2"
	shift 2
	: >"$log"
	rm -f "$log.pipe"
	mkfifo "$log.pipe"
	TEMP_FILES+=("$log.pipe")
	tee -a "$log" <"$log.pipe" | filter_log "$name" &
	FILTERS+=("$!")
	"$@" 2>"$log.pipe" </dev/null >/dev/null &
	PIDS+=("$!")
	NAMES+=("$name")
}

# What a default run shows from the servers' logs: the cfg's own notices and
# every warning or error. Kamailio's xlog lines read "NOTICE: <script>: ...";
# OpenSIPS's read "NOTICE:text", its modules' "NOTICE:module:function: ..."
# (those are left out). Process ids and timestamps are dropped.
filter_log() {
	grep --line-buffered -P 'NOTICE: <script>|NOTICE:(?! )(?![a-z_]+:[A-Za-z_0-9]+: )|WARNING|ERROR|CRITICAL|ALERT|BUG' |
		sed -u -E -e 's/^ *[0-9]+\([0-9]+\) //' -e 's/^[A-Z][a-z]{2} +[0-9]+ [0-9:]+ \[[0-9]+\] //' \
			-e "s/^/[$1] /"
}

# wait_ready NAME TIMEOUT CHECK...: waits until CHECK succeeds, failing when
# the server NAME (the last one started) exits first or TIMEOUT seconds pass.
wait_ready() {
	local name="$1" t="$2" i=0
	shift 2
	local pid="${PIDS[-1]}"
	until "$@" >/dev/null 2>&1; do
		kill -0 "$pid" 2>/dev/null || die "$name exited at start-up (log above)"
		i=$((i + 1))
		[ "$i" -le $((t * 10)) ] || die "$name not ready after ${t}s"
		sleep 0.1
	done
}

# Stops every server started (SIGTERM to its main process, which stops its
# children; SIGKILL after 10 s) and waits for each.
stop_all() {
	local i pid n
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for i in "${!PIDS[@]}"; do
		pid="${PIDS[$i]}"
		for n in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && { say "${NAMES[$i]} still running after 10 s: SIGKILL"; kill -KILL "$pid"; }
		wait "$pid" 2>/dev/null || true
	done
	PIDS=()
	# the log filters end when the servers have closed their stderr: let them
	# print their last lines (at most 5 s) before this script says it is done
	for n in $(seq 50); do
		kill -0 "${FILTERS[@]}" 2>/dev/null || break
		sleep 0.1
	done
}

# on_exit: installed as the trap for EXIT, INT and TERM.
on_exit() {
	local rc=$?
	trap - EXIT INT TERM
	if [ "${#PIDS[@]}" -gt 0 ]; then
		stop_all
		say "stopped (${NAMES[*]})"
	fi
	[ "${#TEMP_FILES[@]}" = 0 ] || rm -f "${TEMP_FILES[@]}"
	if [ -n "${SIGNALLED:-}" ]; then
		# die of the same signal, so that make and the shell see Ctrl-C
		# (make: "Interrupt") rather than an exit status
		trap - "$SIGNALLED"
		kill -s "$SIGNALLED" $$
	fi
	exit "$rc"
}
trap on_exit EXIT
trap 'SIGNALLED=INT; exit 130' INT
trap 'SIGNALLED=TERM; exit 143' TERM

# wait_any: blocks until one of the servers exits; says which.
wait_any() {
	local i
	wait -n "${PIDS[@]}" || true
	for i in "${!PIDS[@]}"; do
		kill -0 "${PIDS[$i]}" 2>/dev/null || say "${NAMES[$i]} exited"
	done
}

# poll_trunks TIMEOUT FN: until every enabled trunk is registered or TIMEOUT
# seconds pass, calls FN every half second. FN prints one line per trunk:
# "NAME STATE TEXT", STATE one of registered, waiting, disabled. Says once per
# trunk when it is registered (or disabled), then whether all are; 0 when all.
poll_trunks() {
	local timeout="$1" fn="$2" t0=$SECONDS table name state text waiting enabled
	local -A shown=()
	while :; do
		table="$("$fn" 2>/dev/null)" || table=""
		waiting=0
		enabled=0
		while read -r name state text; do
			[ -n "$name" ] || continue
			if [ "$state" = disabled ]; then
				[ -n "${shown[$name]:-}" ] || say "$name  $text"
				shown[$name]=1
				continue
			fi
			enabled=$((enabled + 1))
			if [ "$state" != registered ]; then
				waiting=$((waiting + 1))
			elif [ -z "${shown[$name]:-}" ]; then
				say "$name  registered  $text after $((SECONDS - t0)) s"
				shown[$name]=1
			fi
		done <<<"$table"
		if [ "$enabled" -gt 0 ] && [ "$waiting" = 0 ]; then
			say "all $enabled enabled trunks registered"
			return 0
		fi
		if [ $((SECONDS - t0)) -ge "$timeout" ]; then
			say "NOT all trunks registered after ${timeout}s ($waiting of $enabled waiting): see the logs"
			return 1
		fi
		sleep 0.5
	done
}
