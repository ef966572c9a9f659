package shellinit

import (
	"errors"
	"strings"

	"github.com/tenderdev/tender/shellquote"
)

// syntax is how one shell sets and unsets a variable, comments, and evaluates
// a command's output.
type syntax struct {
	set     func(name, value string) (string, error)
	unset   func(name string) string
	comment string
	hint    func(command string) string
}

var posix = syntax{
	set:     func(n, v string) (string, error) { return "export " + n + "=" + shellquote.Quote(v), nil },
	unset:   func(n string) string { return "unset " + n },
	comment: "# ",
	hint:    func(c string) string { return `eval "$(` + c + `)"` },
}

// syntaxOf is the syntax of sh; ok is false for a shell Render does not know.
// A switch over package-level values rather than a map: a map literal is
// built by package initialisation, which every tender command pays, and
// shellinit runs in each new shell.
func syntaxOf(sh Shell) (syn syntax, ok bool) {
	switch sh {
	case Bash, Zsh, Sh:
		return posix, true
	case Fish:
		return fish, true
	case PowerShell:
		return powerShell, true
	case Cmd:
		return cmd, true
	case Tcsh:
		return tcsh, true
	case Emacs:
		return emacs, true
	}
	return syntax{}, false
}

var fish = syntax{
	set:     func(n, v string) (string, error) { return "set -gx " + n + " " + quoteFish(v) + ";", nil },
	unset:   func(n string) string { return "set -e " + n + ";" },
	comment: "# ",
	hint:    func(c string) string { return "eval (" + c + ")" },
}

var powerShell = syntax{
	set:     func(n, v string) (string, error) { return "$Env:" + n + " = " + quotePowerShell(v), nil },
	unset:   func(n string) string { return `Remove-Item Env:\` + n + " -ErrorAction SilentlyContinue" },
	comment: "# ",
	hint:    func(c string) string { return "& " + c + " | Invoke-Expression" },
}

var cmd = syntax{
	set:     setCmd,
	unset:   func(n string) string { return "SET " + n + "=" },
	comment: "REM ",
	hint:    func(c string) string { return `@FOR /f "tokens=*" %i IN ('` + c + `') DO @%i` },
}

var tcsh = syntax{
	set:     setTcsh,
	unset:   func(n string) string { return "unsetenv " + n + ";" },
	comment: "# ",
	hint:    func(c string) string { return "eval `" + c + "`" },
}

var emacs = syntax{
	set:     func(n, v string) (string, error) { return `(setenv "` + n + `" ` + quoteElisp(v) + ")", nil },
	unset:   func(n string) string { return `(setenv "` + n + `" nil)` },
	comment: ";; ",
	hint: func(c string) string {
		return "(with-temp-buffer (shell-command " + quoteElisp(c) + " (current-buffer)) (eval-buffer))"
	},
}

// quoteFish single-quotes s for fish, where \\ and \' are the only escapes
// inside '…'. `eval (cmd)` splits the output into lines and joins them with
// spaces, so a newline is written outside the quotes as \n.
//
// This and the other quoting functions build their replacer where it is
// used, not at package initialisation (see syntaxOf): a render quotes a
// handful of values.
func quoteFish(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `'\n'`, "\r", `'\r'`).Replace(s) + "'"
}

// quotePowerShell single-quotes s, in which PowerShell expands nothing; a
// quote, including the typographic ones PowerShell also takes for quotes, is
// doubled. Invoke-Expression reads the output line by line, so a line break
// is joined in from a double-quoted escape.
func quotePowerShell(s string) string {
	return "'" + strings.NewReplacer(
		"'", "''", "\u2018", "\u2018\u2018", "\u2019", "\u2019\u2019",
		"\u201a", "\u201a\u201a", "\u201b", "\u201b\u201b",
		"\n", "' + \"`n\" + '", "\r", "' + \"`r\" + '",
	).Replace(s) + "'"
}

// setCmd writes SET NAME=VALUE without escaping: in the hint's
// `FOR /f … DO @%i` the line is substituted for %i after cmd has expanded
// %VARS% and found its & | < > ^ operators, so every character arrives as
// written, quotes included. Only a line break cannot be carried.
func setCmd(n, v string) (string, error) {
	if strings.ContainsAny(v, "\r\n") {
		return "", errors.New("cmd cannot set a value with a line break")
	}
	return "SET " + n + "=" + v, nil
}

// setTcsh writes setenv NAME 'VALUE'; for `eval \`cmd\“. tcsh splits the
// backquoted output into words at blanks and expands braces in them before
// eval parses quotes, so runs of spaces are kept by writing each space
// escaped outside the quotes, a single quote as '\”, and an exclamation mark
// as \! (history substitution works even inside quotes). Braces, tabs and
// line breaks cannot be carried through that.
func setTcsh(n, v string) (string, error) {
	if i := strings.IndexAny(v, "{}\t\r\n"); i >= 0 {
		return "", errors.New("tcsh's eval `…` cannot carry " + describeByte(v[i]) + " in a value")
	}
	return "setenv " + n + " '" + strings.NewReplacer("'", `'\''`, "!", `\!`, " ", `'\ '`).Replace(v) + "';", nil
}

func describeByte(b byte) string {
	switch b {
	case '\t':
		return "a tab"
	case '\r', '\n':
		return "a line break"
	}
	return "a brace"
}

// quoteElisp writes s as an Emacs Lisp string: only \ and " are escaped.
func quoteElisp(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
