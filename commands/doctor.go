package commands

import (
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/doctor"
)

func doctorCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check what tender needs on this host, each with the fix",
		Description: `Checks TENDER_HOME (a writable directory, short enough for unix sockets), QEMU
and its version, the hardware accelerator (KVM, HVF, WHPX; without one QEMU
emulates the CPU), virtiofsd on Linux, the docker CLI, the cached image's
sha256, and each machine: readable, its image there and intact, the ports it
pins free, a running one's clock within 2 s of the host's. Each line says ok,
warning (tender works, slower or with less) or problem, with the fix; the exit
status is 1 when there is a problem. --format json prints the checks.

   tender doctor
   tender doctor --format json`,
		Flags: []cli.Flag{formatFlag()},
		Action: func(c *cli.Context) error {
			format := c.String("format")
			if _, err := parseFormat(format); err != nil {
				return err
			}
			home, err := Home(env.Getenv)
			if err != nil {
				return err
			}
			host := doctor.Local(home)
			if env.DoctorHost != nil {
				host = env.DoctorHost(home)
			}
			checks := doctor.Run(c.Context, host)
			if st, err := env.store(c); err == nil {
				checks = append(checks, machineChecks(c.Context, st)...)
			}
			if format == "json" {
				if err := writeJSON(env.Stdout, checks); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
				for _, ch := range checks {
					line := ch.Level + "\t" + ch.Name + "\t" + ch.Detail
					if ch.Fix != "" {
						line += "; fix: " + ch.Fix
					}
					fmt.Fprintln(tw, line)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			if doctor.Failed(checks) {
				return cli.Exit("", 1)
			}
			return nil
		},
	}
}
