package api

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// The agent's commands: the first argument of `tender-agent`.
const (
	CmdWatchPorts    = "watch-ports"
	CmdClock         = "clock"
	CmdSetClock      = "set-clock"
	CmdSetDNS        = "set-dns"
	CmdVersion       = "version"
	CmdRestartDocker = "restart-docker"
	CmdPoweroff      = "poweroff"
	CmdSuspend       = "suspend"
	CmdResume        = "resume"
)

// Command describes one of the agent's commands: how it is called and where
// it runs. The agent dispatches on this table (agent/cmd/tender-agent) and
// the host builds its calls from it, so the two cannot disagree.
type Command struct {
	Name string
	Args string // the arguments, for the usage line
	Help string
	Root bool // needs root: the host runs it with `sudo -n`
	PID1 bool // served by PID 1 over its control socket, not in the caller's process
	Min  int  // fewest arguments after the name
	Max  int  // most arguments after the name; -1 for any number
}

// Commands is the agent's command table, in the order `tender-agent` lists
// them.
var Commands = []Command{
	{Name: CmdWatchPorts, Help: "stream the listening ports as JSON lines (PortEvent)"},
	{Name: CmdClock, Help: "print the wall clock in Unix nanoseconds"},
	{Name: CmdSetClock, Args: "UNIX_NANOSECONDS", Help: "set the wall clock", Root: true, Min: 1, Max: 1},
	{Name: CmdSetDNS, Args: "IP…", Help: "use these name servers instead of DHCP's until reboot", Root: true, Min: 1, Max: -1},
	{Name: CmdVersion, Help: "print the agent's version"},
	{Name: CmdRestartDocker, Help: "restart containerd and dockerd (after new certs)", Root: true, PID1: true},
	{Name: CmdPoweroff, Help: "stop the engine, unmount and power off", Root: true, PID1: true},
	{Name: CmdSuspend, Args: "[--force]", Help: "before a save: release the shared folders (refused while a container bind-mounts one; --force stops it) and drop the page cache", Root: true, Max: 1},
	{Name: CmdResume, Help: "after a resume: mount the shared folders again", Root: true},
}

// LookupCommand finds a command by name.
func LookupCommand(name string) (Command, bool) {
	for _, c := range Commands {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

// Usage is the one-line usage of c.
func (c Command) Usage() string {
	if c.Args == "" {
		return "tender-agent " + c.Name
	}
	return "tender-agent " + c.Name + " " + c.Args
}

// CheckArgs checks the number of arguments after the name.
func (c Command) CheckArgs(args []string) error {
	if len(args) < c.Min || (c.Max >= 0 && len(args) > c.Max) {
		return fmt.Errorf("usage: %s", c.Usage())
	}
	return nil
}

// UsageText lists every command, for `tender-agent` with no or unknown
// arguments.
func UsageText() string {
	var b strings.Builder
	b.WriteString("usage:\n")
	for _, c := range Commands {
		sudo := ""
		if c.Root {
			sudo = "sudo "
		}
		fmt.Fprintf(&b, "  %-44s %s\n", sudo+c.Usage(), c.Help)
	}
	return b.String()
}

// ErrUnknownCommand is returned for a name not in Commands.
var ErrUnknownCommand = errors.New("unknown command")

// Call is one agent command as the host runs it in the guest, over SSH.
type Call struct{ argv []string }

// Argv is the command line in the guest: the agent by its absolute path,
// behind `sudo -n` when the command needs root (never a password prompt
// that would hang an SSH session).
func (c Call) Argv() []string { return append([]string(nil), c.argv...) }

func newCall(name string, args ...string) Call {
	cmd, ok := LookupCommand(name)
	if !ok {
		panic("api: no agent command " + name) // only this file calls it, with the constants above
	}
	argv := []string{AgentPath, name}
	if cmd.Root {
		argv = append([]string{"sudo", "-n"}, argv...)
	}
	return Call{argv: append(argv, args...)}
}

// WatchPorts streams port events until the session ends.
func WatchPorts() Call { return newCall(CmdWatchPorts) }

// Clock prints the guest's wall clock (FormatClock).
func Clock() Call { return newCall(CmdClock) }

// SetClock sets the guest's wall clock to t.
func SetClock(t time.Time) Call { return newCall(CmdSetClock, FormatClock(t)) }

// SetDNS makes the guest use servers until reboot.
func SetDNS(servers []string) Call { return newCall(CmdSetDNS, servers...) }

// Version prints the agent's version.
func Version() Call { return newCall(CmdVersion) }

// RestartDocker restarts the engine, so that it reads new certificates.
func RestartDocker() Call { return newCall(CmdRestartDocker) }

// Poweroff shuts the guest down cleanly.
func Poweroff() Call { return newCall(CmdPoweroff) }

// Suspend readies the guest for a save; force stops the containers that
// bind-mount a share.
func Suspend(force bool) Call {
	if force {
		return newCall(CmdSuspend, "--force")
	}
	return newCall(CmdSuspend)
}

// Resume mounts the shares again after a resume.
func Resume() Call { return newCall(CmdResume) }

// The control socket protocol, between `tender-agent COMMAND` and PID 1
// for the commands marked PID1: the client sends the command's name on one
// line; PID 1 answers with lines, the last one ControlOK or ControlError
// followed by the reason.
const (
	ControlSocket = "/run/tender/agent.sock" // root's only (0600)
	ControlOK     = "ok"
	ControlError  = "error: "
)
