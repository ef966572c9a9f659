// Package shellinit renders the environment that points a docker client at a
// machine, as text for one shell to evaluate:
//
//	eval "$(tender shellinit)"
//
// It is pure: (variables, shell, options) → text. It reads no state, starts
// no process and opens no connection, because it runs in every new shell.
// Values are quoted so that each shell, evaluating the text the way the
// closing hint says, gets them back byte for byte; a value that a shell
// cannot receive that way is an error, and then nothing is written.
package shellinit

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Shell is a shell whose syntax Render writes.
type Shell string

// The shells Render knows.
const (
	Bash       Shell = "bash"
	Zsh        Shell = "zsh"
	Sh         Shell = "sh"
	Fish       Shell = "fish"
	PowerShell Shell = "powershell"
	Cmd        Shell = "cmd"
	Tcsh       Shell = "tcsh"
	Emacs      Shell = "emacs"
)

// Shells returns every shell, in the order they are listed to users.
func Shells() []Shell {
	return []Shell{Bash, Zsh, Sh, Fish, PowerShell, Cmd, Tcsh, Emacs}
}

// Var is one environment variable. An empty Value means unset, as in
// boot2docker.
type Var struct {
	Name  string
	Value string
}

// Vars is an ordered list of variables; Render writes them in this order.
type Vars []Var

// DockerVars are the variables that point a docker client at a machine:
// DOCKER_HOST=tcp://127.0.0.1:PORT, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY=1 and
// TENDER_MACHINE_NAME.
func DockerVars(dockerPort int, certPath, machine string) Vars {
	return Vars{
		{"DOCKER_HOST", fmt.Sprintf("tcp://127.0.0.1:%d", dockerPort)},
		{"DOCKER_CERT_PATH", certPath},
		{"DOCKER_TLS_VERIFY", "1"},
		{"TENDER_MACHINE_NAME", machine},
	}
}

// SocketVars are DockerVars for the host agent's unix socket: no TLS
// variables (empty values are written as unsets).
func SocketVars(socket, machine string) Vars {
	return Vars{
		{"DOCKER_HOST", "unix://" + socket},
		{"DOCKER_CERT_PATH", ""},
		{"DOCKER_TLS_VERIFY", ""},
		{"TENDER_MACHINE_NAME", machine},
	}
}

// Options change what Render writes.
type Options struct {
	// Unset writes lines that unset the variables instead of setting them.
	Unset bool

	// NoProxy, if not empty, is an address ("127.0.0.1") that must be in
	// the NO_PROXY list, so that proxies are bypassed for the machine. It is
	// appended once, to the current list read through Getenv (NO_PROXY, or
	// no_proxy if only that one is set); if it is already there, no line is
	// written. With Unset, it is taken out of the list again.
	NoProxy string
	// Getenv reads the current environment, for NO_PROXY. Nil reads an
	// empty one.
	Getenv func(string) string

	// The closing hint says how to evaluate the output: by default
	// "tender shellinit", with "--vm NAME" when Machine is not "default",
	// "--shell SHELL" when ShellFlag is set (always for emacs, which cannot be
	// detected) and "-u" with Unset. Command, if not empty, replaces all
	// of it.
	Machine   string
	ShellFlag bool
	Command   string
}

// Render writes v for shell sh, then a comment saying how to evaluate it.
// On error it writes nothing.
func Render(w io.Writer, v Vars, sh Shell, opts Options) error {
	syn, ok := syntaxOf(sh)
	if !ok {
		_, err := ParseShell(string(sh))
		return err
	}
	vars := append(Vars(nil), v...)
	if opts.NoProxy != "" {
		if nv, change := noProxyVar(opts); change {
			vars = append(vars, nv)
		}
	}

	var buf bytes.Buffer
	for _, x := range vars {
		if !validName(x.Name) {
			return fmt.Errorf("invalid environment variable name %q", x.Name)
		}
		if strings.ContainsRune(x.Value, 0) {
			return fmt.Errorf("the value of %s contains a NUL byte, which no environment can hold", x.Name)
		}
		if x.Value == "" || (opts.Unset && x.Name != noProxyName(opts)) {
			buf.WriteString(syn.unset(x.Name))
		} else {
			line, err := syn.set(x.Name, x.Value)
			if err != nil {
				return fmt.Errorf("%s cannot take the value of %s (%q): %w", sh, x.Name, x.Value, err)
			}
			buf.WriteString(line)
		}
		buf.WriteByte('\n')
	}
	for _, line := range []string{"Run this command to configure your shell:", syn.hint(command(sh, opts))} {
		buf.WriteString(syn.comment + line + "\n")
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// command is the command line the hint tells to run.
func command(sh Shell, opts Options) string {
	if opts.Command != "" {
		return opts.Command
	}
	c := "tender"
	if opts.Machine != "" && opts.Machine != "default" {
		c += " --vm " + opts.Machine
	}
	c += " shellinit"
	if opts.ShellFlag || sh == Emacs {
		c += " --shell " + string(sh)
	}
	if opts.Unset {
		c += " -u"
	}
	return c
}

func validName(name string) bool {
	for i, c := range name {
		if !(c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return name != ""
}

// noProxyName is the variable that holds the list: NO_PROXY, unless only
// no_proxy is set.
func noProxyName(opts Options) string {
	get := opts.Getenv
	if get == nil {
		return "NO_PROXY"
	}
	if get("NO_PROXY") == "" && get("no_proxy") != "" {
		return "no_proxy"
	}
	return "NO_PROXY"
}

// noProxyVar is the NO_PROXY line to write, if the list must change.
func noProxyVar(opts Options) (Var, bool) {
	name := noProxyName(opts)
	current := ""
	if opts.Getenv != nil {
		current = opts.Getenv(name)
	}
	var value string
	var change bool
	if opts.Unset {
		value, change = RemoveNoProxy(current, opts.NoProxy)
	} else {
		value, change = AddNoProxy(current, opts.NoProxy)
	}
	return Var{Name: name, Value: value}, change
}

// AddNoProxy returns the NO_PROXY list with addr appended, and whether that
// changed it: false when addr is already an entry.
func AddNoProxy(list, addr string) (string, bool) {
	for _, e := range strings.Split(list, ",") {
		if strings.TrimSpace(e) == addr {
			return list, false
		}
	}
	list = strings.TrimRight(strings.TrimSpace(list), ",")
	if list == "" {
		return addr, true
	}
	return list + "," + addr, true
}

// RemoveNoProxy returns the NO_PROXY list without addr, and whether that
// changed it. An empty result means NO_PROXY should be unset.
func RemoveNoProxy(list, addr string) (string, bool) {
	var kept []string
	found := false
	for _, e := range strings.Split(list, ",") {
		switch t := strings.TrimSpace(e); {
		case t == addr:
			found = true
		case t != "":
			kept = append(kept, e)
		}
	}
	if !found {
		return list, false
	}
	return strings.Join(kept, ","), true
}
