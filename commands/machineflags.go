package commands

import (
	"github.com/urfave/cli/v2"
)

// machineFlags are the settings init and up accept, with boot2docker's names.
func machineFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "driver", Usage: "hypervisor: auto, qemu or virtualbox; ssh for a server you already have (init --ssh-host)"},
		&cli.StringFlag{Name: "memory", Aliases: []string{"m"}, Usage: "guest memory: MiB (2048) or a size (2GiB)"},
		&cli.StringFlag{Name: "cpus", Aliases: []string{"c"}, Usage: "number of virtual CPUs"},
		&cli.StringFlag{Name: "disksize", Aliases: []string{"s"}, Usage: "data disk size: MiB (20000) or a size (20GiB); init only"},
		&cli.StringFlag{Name: "iso", Usage: "path of the boot image"},
		&cli.StringFlag{Name: "arch", Usage: "guest architecture: amd64 or arm64 (default: the host's; another is emulated, slowly)"},
		&cli.StringFlag{Name: "iso-url", Usage: "where tender download gets the image (an http, https or file URL)", Value: ""},
		&cli.StringFlag{Name: "sshport", Aliases: []string{"ssh-port"}, Usage: "host port on 127.0.0.1 for the guest's SSH (default: a free port, kept); with --driver ssh, the server's SSH port (default 22)"},
		&cli.StringFlag{Name: "dockerport", Usage: "host port on 127.0.0.1 for the Docker API (default: a free port, kept)"},
		&cli.StringFlag{Name: "vbm", Usage: "path of VBoxManage for the virtualbox driver (default: searched on PATH)"},
	}
}

// serverFlags are init's flags for a server reached over SSH (driver ssh).
func serverFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "ssh-host", Usage: "with --driver ssh: the server, as `[USER@]HOST`"},
		&cli.StringFlag{Name: "ssh-key", Usage: "with --driver ssh: the private `KEY` that logs in to the server (one with a passphrase through ssh-agent)"},
		&cli.StringFlag{Name: "ssh-host-key", Usage: "with --driver ssh: the server's host key to pin, its `FINGERPRINT` (SHA256:...) or its key line (default: shown and asked)"},
		&cli.BoolFlag{Name: "install-docker", Usage: "with --driver ssh: install the distribution's Docker on the server (apt-get or dnf, with sudo -n) when it has none"},
	}
}
