# need.sh defines need, for the scripts under scripts/ to source (POSIX sh):
#
#   . "$(dirname "$0")/need.sh"
#   need xorriso /usr/lib/ISOLINUX/isolinux.bin
#
# need TOOL... checks that each TOOL, a command on PATH or an absolute file
# path, is there, and otherwise exits saying what installs it. It refuses a
# TOOL that scripts/deps.txt, the list scripts/deps.sh installs from, has no
# line for: a script cannot come to depend on what deps.sh leaves out.
# deps_installed is the one test of "there", shared with deps.sh.

# Absolute, so a script may cd before it calls need; bash names the sourced
# file in BASH_SOURCE, sh scripts are in scripts/ beside it.
DEPS_TXT=$(cd "$(dirname "${BASH_SOURCE:-$0}")" && pwd)/deps.txt

deps_installed() { # deps_installed TOOL
	case $1 in
	/*) [ -e "$1" ] ;;
	*) command -v "$1" >/dev/null 2>&1 ;;
	esac
}

need() { # need TOOL...
	_need_prog=${0##*/}
	_need_prog=${_need_prog%.sh}
	for _need_tool in "$@"; do
		# PACKAGE and the why of TOOL's line, tab-separated.
		_need_line=$(awk -v t="$_need_tool" '
			/^[[:space:]]*(#|$)/ { next }
			$2 == t { why = $0; sub(/^[^#]*#[[:space:]]*/, "", why); if (why == $0) why = ""; printf "%s\t%s\n", $1, why; exit }
		' "$DEPS_TXT")
		if [ -z "$_need_line" ]; then
			echo "$_need_prog: error: need $_need_tool: scripts/deps.txt has no line for it (add the package that provides it)" >&2
			exit 1
		fi
		deps_installed "$_need_tool" && continue
		_need_pkg=${_need_line%%"	"*}
		case $_need_pkg in
		-) echo "$_need_prog: error: $_need_tool is missing: ${_need_line#*"	"}" >&2 ;;
		go:*) echo "$_need_prog: error: $_need_tool is missing: run scripts/deps.sh (it runs go install ${_need_pkg#go:})" >&2 ;;
		*) echo "$_need_prog: error: $_need_tool is missing: run scripts/deps.sh (it installs $_need_pkg)" >&2 ;;
		esac
		exit 1
	done
}
