//go:build unix

// Command vboxsim is a VBoxManage SIMULATOR for tender's tests, not
// VirtualBox. Built as a program named VBoxManage and put first on PATH, it
// accepts only the subcommands and options tender uses, with the grammar of
// the VirtualBox manual, keeps its VMs in $VBOXSIM_HOME across calls,
// enforces VirtualBox's state rules, and boots a VM for real with QEMU on
// startvm. See README.md.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Version is what --version prints: a real-looking release, and the word
// simulator, so nobody mistakes it for VirtualBox.
const Version = "7.0.20r163906 (tender VBoxManage simulator)"

// prog is the name error lines start with, like VBoxManage's.
const prog = "VBoxManage"

// Exit codes, as VBoxManage's RTEXITCODE_FAILURE and RTEXITCODE_SYNTAX.
const (
	exitFailure = 1
	exitSyntax  = 2
)

// vboxError is a failure printed as VBoxManage does: "VBoxManage: error: "
// lines on stderr, then the exit code.
type vboxError struct {
	code  int
	lines []string
}

func (e *vboxError) Error() string { return strings.Join(e.lines, "\n") }

// failf is a runtime failure (exit 1), optionally with Details and Context
// lines.
func failf(format string, a ...any) *vboxError {
	return &vboxError{code: exitFailure, lines: []string{fmt.Sprintf(format, a...)}}
}

// details adds VirtualBox's "Details: code …" line.
func (e *vboxError) details(code, component, iface string) *vboxError {
	e.lines = append(e.lines, fmt.Sprintf("Details: code %s, component %s, interface %s, callee nsISupports", code, component, iface))
	return e
}

// context adds VirtualBox's "Context: …" line.
func (e *vboxError) context(call, file string, line int) *vboxError {
	e.lines = append(e.lines, fmt.Sprintf("Context: \"%s\" at line %d of file %s", call, line, file))
	return e
}

// syntaxf is a syntax error (exit 2).
func syntaxf(format string, a ...any) *vboxError {
	return &vboxError{code: exitSyntax, lines: []string{fmt.Sprintf(format, a...)}}
}

func main() {
	if uuid := os.Getenv(vmProcessEnv); uuid != "" {
		os.Exit(vmProcess(uuid))
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one VBoxManage command line.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := dispatch(args, stdin, stdout)
	if err == nil {
		return 0
	}
	var ve *vboxError
	if !errors.As(err, &ve) {
		ve = failf("%v", err)
	}
	for _, l := range ve.lines {
		fmt.Fprintf(stderr, "%s: error: %s\n", prog, l)
	}
	return ve.code
}

// commands are the subcommands tender uses; anything else is an invalid
// command, as VBoxManage says.
var commands = map[string]func(c *cmd) error{
	"createvm":       createVM,
	"modifyvm":       modifyVM,
	"storagectl":     storageCtl,
	"storageattach":  storageAttach,
	"convertfromraw": convertFromRaw,
	"startvm":        startVM,
	"controlvm":      controlVM,
	"showvminfo":     showVMInfo,
	"unregistervm":   unregisterVM,
	"discardstate":   discardState,
	"sharedfolder":   sharedFolder,
	"setextradata":   setExtraData,
	"list":           list,
	"hostonlyif":     hostOnlyIf,
	"dhcpserver":     dhcpServer,
}

// cmd is one invocation: its arguments after the subcommand, and its
// streams.
type cmd struct {
	name   string
	args   []string
	stdin  io.Reader
	stdout io.Writer
	reg    *registry
	// saveOnError keeps the changes a failing command made, for commands
	// that VirtualBox does not undo when they fail half-way.
	saveOnError bool
}

func dispatch(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return syntaxf("No command specified (this is the tender VBoxManage simulator; see its README.md)")
	}
	if args[0] == "--version" || args[0] == "-version" || args[0] == "-v" {
		if len(args) > 1 {
			return syntaxf("Too many parameters")
		}
		fmt.Fprintln(stdout, Version)
		return nil
	}
	f, ok := commands[args[0]]
	if !ok {
		return syntaxf("Invalid command '%s'", args[0])
	}
	reg, unlock, err := openRegistry()
	if err != nil {
		return failf("%v", err)
	}
	defer unlock()
	c := &cmd{name: args[0], args: args[1:], stdin: stdin, stdout: stdout, reg: reg}
	if err := f(c); err != nil {
		if c.saveOnError {
			_ = reg.save()
		}
		return err
	}
	return reg.save()
}

// opts parses options after the fixed positional arguments: --name value
// and --name=value forms; flags listed in bools take no value. Repeated
// options keep their order (modifyvm applies them one after another).
type opt struct{ name, value string }

func parseOpts(args []string, valued map[string]int, bools map[string]bool) ([]opt, error) {
	var out []opt
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return nil, syntaxf("Invalid parameter '%s'", a)
		}
		name, val, hasEq := strings.Cut(a, "=")
		if bools[name] {
			if hasEq {
				return nil, syntaxf("Option '%s' takes no value", name)
			}
			out = append(out, opt{name: name})
			continue
		}
		n, ok := valued[name]
		if !ok {
			n, ok = valuedPattern(name, valued)
		}
		if !ok {
			return nil, syntaxf("Unknown option: %s", name)
		}
		var vals []string
		if hasEq {
			vals = append(vals, val)
			n--
		}
		for ; n > 0; n-- {
			i++
			if i >= len(args) {
				return nil, syntaxf("Missing argument to '%s'", name)
			}
			vals = append(vals, args[i])
		}
		out = append(out, opt{name: name, value: strings.Join(vals, " ")})
	}
	return out, nil
}

// valuedPattern matches numbered options such as --natpf1 against
// "--natpf#" entries.
func valuedPattern(name string, valued map[string]int) (int, bool) {
	base := strings.TrimRight(name, "0123456789")
	if base == name || len(name)-len(base) != 1 || name[len(name)-1] == '0' {
		return 0, false
	}
	n, ok := valued[base+"#"]
	return n, ok
}
