// Command tender-net is the switch of one tender network: it joins the
// second NICs of the network's machines, and answers their DHCP and DNS
// (package netswitch). tender starts it, detached, with the configuration
// it wrote (network.SwitchConfig, JSON), and stops it with SIGTERM:
//
//	tender-net --config ~/.tender/networks/lab/switch.json
//
// It writes the configuration's PID file once it is ready, and removes it
// and its sockets when it exits (0 on SIGTERM or SIGINT). Logs go to
// stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/tenderdev/tender/netswitch"
	"github.com/tenderdev/tender/network"
)

// Stamped at build time with -ldflags "-X main.version=…", as tender is.
var (
	version = "dev"
	commit  = ""
	date    = ""
)

const usage = "usage: tender-net --config FILE"

func main() {
	// os.Exit skips deferred calls, so all the work happens in run.
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		// One line, whatever the error: several problems of a
		// configuration are joined with "; ".
		fmt.Fprintf(stderr, "tender-net: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
		return 1
	}
	flags := flag.NewFlagSet("tender-net", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	configPath := flags.String("config", "", "the network's switch configuration (JSON, written by tender)")
	showVersion := flags.Bool("version", false, "print the version and exit")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, "%s\n\ntender-net is the switch of a tender network; tender starts and stops it.\n\n", usage)
			flags.SetOutput(stdout)
			flags.PrintDefaults()
			return 0
		}
		return fail(fmt.Errorf("%v (%s)", err, usage))
	}
	if *showVersion {
		fmt.Fprintln(stdout, versionLine())
		return 0
	}
	if flags.NArg() > 0 {
		return fail(fmt.Errorf("unexpected argument %q (%s)", flags.Arg(0), usage))
	}
	if *configPath == "" {
		return fail(fmt.Errorf("--config FILE is required (%s)", usage))
	}
	cfg, err := network.ReadSwitchConfig(*configPath)
	if err != nil {
		return fail(fmt.Errorf("reading the switch configuration: %w", err))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := netswitch.Run(ctx, cfg, stderr); err != nil {
		return fail(fmt.Errorf("%s: %w", *configPath, err))
	}
	return 0
}

// versionLine is "tender-net VERSION", with the commit and build date when
// they were stamped; a `go install …@vX.Y.Z` build reports its module's
// version.
func versionLine() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && (v == "" || v == "dev") && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = strings.TrimPrefix(bi.Main.Version, "v")
	}
	line := "tender-net " + v
	var extra []string
	if commit != "" {
		extra = append(extra, "commit "+commit)
	}
	if date != "" {
		extra = append(extra, "built "+date)
	}
	if len(extra) > 0 {
		line += " (" + strings.Join(extra, ", ") + ")"
	}
	return line
}
