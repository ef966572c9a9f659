package commands

import (
	"encoding/json"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/iso"
	"github.com/tenderdev/tender/machine"
	"github.com/tenderdev/tender/vm"
)

// machineInfo is what `tender info` prints.
type machineInfo struct {
	Name       string            `json:"name"`
	State      vm.State          `json:"state"`
	Driver     string            `json:"driver"`
	DockerHost string            `json:"docker_host,omitempty"`
	SSHPort    int               `json:"ssh_port,omitempty"`
	DockerPort int               `json:"docker_port,omitempty"`
	ISO        string            `json:"iso"`
	ISOVersion string            `json:"iso_version,omitempty"`
	CPUs       int               `json:"cpus"`
	MemoryMiB  int               `json:"memory_mib"`
	DiskMiB    int               `json:"disk_size_mib"`
	Paths      map[string]string `json:"paths"`
	Runtime    machine.Runtime   `json:"runtime"`
}

func infoCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "info",
		Aliases:   []string{"inspect"},
		Usage:     "print the machine's settings, state, ports, image version and paths as JSON",
		ArgsUsage: "[NAME]",
		Action: func(c *cli.Context) error {
			return withMachine(env, c, func(name string) error {
				st, err := env.store(c)
				if err != nil {
					return err
				}
				m, err := st.Load(name, emptyLayer())
				if err != nil {
					return err
				}
				state, err := m.Driver.State(c.Context, m.Spec())
				if err != nil {
					return err
				}
				info := machineInfo{
					Name: name, State: state, Driver: m.Driver.Name(),
					SSHPort: m.Runtime.SSHPort, DockerPort: m.Runtime.DockerPort,
					ISO: m.Settings.ISO, ISOVersion: m.Runtime.ISOVersion,
					CPUs: m.Settings.CPUs, MemoryMiB: m.Settings.MemoryMiB, DiskMiB: m.Settings.DiskSizeMiB,
					Paths:   m.Paths(),
					Runtime: m.Runtime,
				}
				if im, err := iso.Open(m.Settings.ISO); err == nil {
					info.ISOVersion = im.Version()
				}
				if state == vm.Running {
					info.DockerHost = m.DockerHost()
				}
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			})
		},
	}
}
