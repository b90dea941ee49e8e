# Helpers of the scripts that build a host into .cache/ (sourced by
# scripts/setup-opensips and scripts/setup-kamailio61). Several git worktrees
# share one .cache, and each branch may need other modules of the same build.

# The folder ../shared/NAME that holds FILE: the checkout's own or, from a git
# worktree elsewhere (which has no ../shared), the main checkout's.
shared_dir() {
	local name=$1 file=$2 main d
	main="$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)"
	for d in "$(pwd)/../shared/$name" "${main:+$(dirname "$main")/../shared/$name}"; do
		if [ -n "$d" ] && [ -f "$d/$file" ]; then
			echo "$d"
			return
		fi
	done
	echo "$(pwd)/../shared/$name"
}

# True when the stamp file STAMP lists every module of MODS: a build made for
# another branch with more modules serves this one too.
stamp_has_all() {
	local stamp=$1 mods=$2 have m
	[ -f "$stamp" ] || return 1
	have=" $(cat "$stamp") "
	for m in $mods; do
		case "$have" in *" $m "*) ;; *) return 1 ;; esac
	done
}

# MODS plus the modules already listed in STAMP, so that a rebuild keeps what
# another branch built.
stamp_union() {
	local stamp=$1 out=$2 m
	if [ -f "$stamp" ]; then
		for m in $(cat "$stamp"); do
			case " $out " in *" $m "*) ;; *) out="$out $m" ;; esac
		done
	fi
	echo "$out"
}
