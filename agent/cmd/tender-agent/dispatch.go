//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/agent/dnsconf"
	"github.com/tenderdev/tender/agent/guest"
	"github.com/tenderdev/tender/agent/portwatch"
)

// handler does one command with the arguments after its name.
type handler func(args []string, stdout io.Writer) error

// handlers is the agent's one dispatch table: a handler for every command
// of api.Commands (a test holds them to the same set).
func handlers(version string) map[string]handler {
	return map[string]handler{
		api.CmdWatchPorts: func(_ []string, stdout io.Writer) error {
			ctx, stop := signal.NotifyContext(context.Background(), unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
			defer stop()
			return portwatch.Watch(ctx, stdout, portwatch.Tables, api.IngressPortsFile, portwatch.Interval, 5*time.Second)
		},
		api.CmdClock: func(_ []string, stdout io.Writer) error {
			_, err := fmt.Fprintln(stdout, api.FormatClock(time.Now()))
			return err
		},
		api.CmdSetClock: func(args []string, _ io.Writer) error {
			t, err := api.ParseClock(args[0])
			if err != nil {
				return err
			}
			ts := unix.NsecToTimespec(t.UnixNano())
			return unix.ClockSettime(unix.CLOCK_REALTIME, &ts)
		},
		api.CmdSetDNS: func(args []string, _ io.Writer) error {
			servers, err := dnsconf.Parse(args)
			if err != nil {
				return err
			}
			return dnsconf.Set(servers)
		},
		api.CmdVersion: func(_ []string, stdout io.Writer) error {
			_, err := fmt.Fprintln(stdout, version)
			return err
		},
		api.CmdRestartDocker: pid1(api.CmdRestartDocker),
		api.CmdPoweroff:      pid1(api.CmdPoweroff),
		api.CmdSuspend: func(args []string, stdout io.Writer) error {
			if len(args) == 1 && args[0] != "--force" {
				return fmt.Errorf("%s takes only --force, got %q", api.CmdSuspend, args[0])
			}
			return guest.Suspend(context.Background(), len(args) == 1, stdout)
		},
		api.CmdResume: func(_ []string, stdout io.Writer) error {
			return guest.Resume(context.Background(), func(f string, a ...any) { fmt.Fprintf(stdout, f+"\n", a...) })
		},
	}
}

// pid1 sends the command to PID 1, which does it.
func pid1(name string) handler {
	return func(_ []string, stdout io.Writer) error { return guest.Request(name, stdout) }
}

// dispatch looks args[0] up in api.Commands, checks the number of
// arguments and runs its handler.
func dispatch(table map[string]handler, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("no command\n%s", strings.TrimRight(api.UsageText(), "\n"))
	}
	cmd, ok := api.LookupCommand(args[0])
	h := table[args[0]]
	if !ok || h == nil {
		names := make([]string, len(api.Commands))
		for i, c := range api.Commands {
			names[i] = c.Name
		}
		return fmt.Errorf("%w %q (want one of %s)", api.ErrUnknownCommand, args[0], strings.Join(names, ", "))
	}
	if err := cmd.CheckArgs(args[1:]); err != nil {
		return err
	}
	return h(args[1:], stdout)
}
