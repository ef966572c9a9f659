package machine

import (
	"path/filepath"

	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/provision"
)

// Paths lists the machine's files for `tender info`.
func (m *Machine) Paths() map[string]string {
	if m.IsServer() {
		return map[string]string{
			"dir":           m.Dir,
			"cert_path":     m.CertPath(),
			"ssh_key":       m.Settings.SSHKey,
			"ssh_config":    filepath.Join(m.Dir, SSHConfig),
			"known_hosts":   filepath.Join(m.Dir, KnownHosts),
			"hostagent_log": filepath.Join(m.Dir, HostAgentLog),
		}
	}
	return map[string]string{
		"dir":         m.Dir,
		"cert_path":   m.CertPath(),
		"ssh_key":     filepath.Join(m.Dir, SSHKey),
		"ssh_config":  filepath.Join(m.Dir, SSHConfig),
		"known_hosts": filepath.Join(m.Dir, KnownHosts),
		"disk":        filepath.Join(m.Dir, diskFile(m.driver)),
		"serial_log":  filepath.Join(m.Dir, SerialLog),
	}
}

// WriteSSHConfig writes ssh_config so that plain OpenSSH reaches the guest:
// ssh -F DIR/ssh_config tender-NAME.
func WriteSSHConfig(m *Machine) error {
	if m.IsServer() {
		_, host := config.SplitServer(m.Settings.SSHHost)
		return provision.WriteSSHConfig(filepath.Join(m.Dir, SSHConfig), provision.SSHConfig{
			Alias:          hostAlias(m.Name),
			HostName:       host,
			Port:           m.Settings.SSHPort,
			User:           m.ServerUser(),
			IdentityFile:   m.Settings.SSHKey,
			KnownHostsFile: filepath.Join(m.Dir, KnownHosts),
		})
	}
	return provision.WriteSSHConfig(filepath.Join(m.Dir, SSHConfig), provision.SSHConfig{
		Alias:          hostAlias(m.Name),
		Port:           m.Runtime.SSHPort,
		User:           "docker",
		IdentityFile:   filepath.Join(m.Dir, SSHKey),
		KnownHostsFile: filepath.Join(m.Dir, KnownHosts),
	})
}
