package commands

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/drivers"
	"github.com/tenderdev/tender/iso"
	"github.com/tenderdev/tender/machine"
	"github.com/tenderdev/tender/vm"
)

// machineInfo is what `tender info` prints.
type machineInfo struct {
	Name         string            `json:"name"`
	State        vm.State          `json:"state"`
	Driver       string            `json:"driver"`
	DriverReason string            `json:"driver_reason"`
	DockerHost   string            `json:"docker_host,omitempty"`
	SSHPort      int               `json:"ssh_port,omitempty"`
	DockerPort   int               `json:"docker_port,omitempty"`
	ISO          string            `json:"iso"`
	ISOVersion   string            `json:"iso_version,omitempty"`
	CPUs         int               `json:"cpus"`
	MemoryMiB    int               `json:"memory_mib"`
	DiskMiB      int               `json:"disk_size_mib"`
	Paths        map[string]string `json:"paths"`
	Runtime      machine.Runtime   `json:"runtime"`
	Versions     machine.Versions  `json:"versions"`
	Advice       []string          `json:"advice,omitempty"` // version mismatches that matter, with the fix
}

func infoCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "info",
		Aliases:   []string{"inspect"},
		Usage:     "print the machine's settings, state, ports, image version and paths as JSON",
		ArgsUsage: "[NAME]",
		Description: `Prints JSON: settings, state, ports, paths, and the versions of this tender,
of the machine's image and of its running guest agent (asked over SSH), with
advice when they disagree in a way that matters. A Go template gets the
fields Name, State, Driver, DriverReason, DockerHost, SSHPort, DockerPort,
ISO, ISOVersion, CPUs, MemoryMiB, DiskMiB, Paths, Runtime, Versions and Advice:

   tender info --format '{{.Versions.Agent}}'
   tender info --format '{{index .Paths "cert_path"}}'`,
		Flags: []cli.Flag{formatFlag()},
		Action: func(c *cli.Context) error {
			tmpl, err := parseFormat(c.String("format"))
			if err != nil {
				return err
			}
			return withMachine(env, c, func(st *machine.Store, name string) error {
				m, err := st.Load(name, emptyLayer())
				if err != nil {
					return err
				}
				state, err := m.Driver.State(c.Context, m.Spec())
				if err != nil {
					return err
				}
				info := machineInfo{
					Name: name, State: state, Driver: m.Driver.Name(), DriverReason: drivers.Reason(m.Settings),
					SSHPort: m.Runtime.SSHPort, DockerPort: m.Runtime.DockerPort,
					ISO: m.Settings.ISO, ISOVersion: m.Runtime.ISOVersion,
					CPUs: m.Settings.CPUs, MemoryMiB: m.Settings.MemoryMiB, DiskMiB: m.Settings.DiskSizeMiB,
					Paths:   m.Paths(),
					Runtime: m.Runtime,
				}
				if im, err := iso.Open(m.Settings.ISO); err == nil {
					info.ISOVersion = im.Version()
				}
				info.Versions = machine.Versions{CLI: env.version(), Image: info.ISOVersion}
				if state == vm.Running {
					info.DockerHost = m.DockerHost()
					if v, err := m.AgentVersion(c.Context); err == nil {
						info.Versions.Agent = v
					} else {
						fmt.Fprintf(env.Stderr, "warning: %v\n", err)
					}
				}
				info.Advice = info.Versions.Advice(name)
				for _, a := range info.Advice {
					fmt.Fprintf(env.Stderr, "tender: %s\n", a)
				}
				if tmpl != nil {
					return writeTemplate(env.Stdout, tmpl, info)
				}
				return writeJSON(env.Stdout, info)
			})
		},
	}
}
