package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tenderdev/tender/agent/clock"
	"github.com/tenderdev/tender/agent/dnsconf"
	"github.com/tenderdev/tender/agent/portwatch"
)

// hostCall runs the subcommands the host agent calls over SSH. ok is false
// when args name none of them.
//
//	tender-agent watch-ports        JSON lines of listening ports (portwatch)
//	tender-agent clock              the wall clock in Unix nanoseconds
//	sudo tender-agent set-clock NS  set the wall clock
//	sudo tender-agent set-dns IP…   override DHCP's name servers until reboot
func hostCall(args []string, stdout io.Writer) (ok bool, err error) {
	if len(args) == 0 {
		return false, nil
	}
	switch args[0] {
	case "watch-ports":
		ctx, stop := signal.NotifyContext(context.Background(), unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
		defer stop()
		return true, portwatch.Watch(ctx, stdout, portwatch.Tables, portwatch.Interval, 5*time.Second)
	case "clock":
		_, err := fmt.Fprintln(stdout, clock.Format(time.Now()))
		return true, err
	case "set-clock":
		if len(args) != 2 {
			return true, errors.New("usage: tender-agent set-clock UNIX_NANOSECONDS")
		}
		t, err := clock.Parse(args[1])
		if err != nil {
			return true, err
		}
		return true, clock.Set(t)
	case "set-dns":
		servers, err := dnsconf.Parse(args[1:])
		if err != nil {
			return true, err
		}
		return true, dnsconf.Set(servers)
	}
	return false, nil
}
