package commands

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/config"
)

// flagKeys maps each machine flag to its configuration key.
var flagKeys = []struct{ flag, key string }{
	{"driver", config.KeyDriver},
	{"memory", config.KeyMemory},
	{"cpus", config.KeyCPUs},
	{"disksize", config.KeyDiskSize},
	{"iso", config.KeyISO},
	{"iso-url", config.KeyISOURL},
	{"arch", config.KeyArch},
	{"sshport", config.KeySSHPort},
	{"dockerport", config.KeyDockerPort},
	{"vbm", config.KeyVBoxManage},
	{"ssh-host", config.KeySSHHost},
	{"ssh-key", config.KeySSHKey},
	{"ssh-host-key", config.KeySSHHostKey},
}

// flagLayer turns the machine flags the user gave into a configuration
// layer; flags not given stay unset so lower layers decide. Ranges are
// checked later, with every other layer, by config.Resolve.
func flagLayer(c *cli.Context) (config.Layer, error) {
	var l config.Layer
	for _, f := range flagKeys {
		if !c.IsSet(f.flag) {
			continue
		}
		if err := l.Set(f.key, c.String(f.flag)); err != nil {
			var fe *config.FieldError
			if errors.As(err, &fe) {
				fe.Where = "flag --" + f.flag
			}
			return l, err
		}
		l.SetWhere(f.key, "flag --"+f.flag)
	}
	return l, nil
}

func emptyLayer() config.Layer { return config.Layer{} }
