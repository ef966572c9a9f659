//go:build linux

package guest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tenderdev/tender/agent/api"
)

const sshdConfigPath = "/run/tender/sshd_config"

// renderSSHDConfig is sshd's whole configuration: keys only, user docker
// only, the userdata's host key only.
func renderSSHDConfig(hostKey string) string {
	return strings.Join([]string{
		"# written by tender-agent at each boot; changes are lost",
		"Port " + strconv.Itoa(api.SSHPort),
		"HostKey " + hostKey,
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin no",
		"PermitEmptyPasswords no",
		"UsePAM no",
		"AllowUsers docker",
		"AuthorizedKeysFile .ssh/authorized_keys",
		"PrintMotd no",
		"UseDNS no",
		"X11Forwarding no",
		"AllowTcpForwarding yes",
		"AllowStreamLocalForwarding yes",
		"ClientAliveInterval 30",
		"Subsystem sftp internal-sftp",
		"",
	}, "\n")
}

// newSSHD makes the supervised sshd: foreground, logging to sshd.log.
func (a *agent) newSSHD() *service {
	hostKey := filepath.Join(SSHDir, filepath.Base(api.SSHHostKeyFile))
	return newService("sshd", a.procs, a.log, func() (*exec.Cmd, error) {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			return nil, err
		}
		if err := writeFile(sshdConfigPath, []byte(renderSSHDConfig(hostKey)), 0o644, 0, 0); err != nil {
			return nil, fmt.Errorf("writing %s: %w", sshdConfigPath, err)
		}
		logf, err := openLog("sshd.log")
		if err != nil {
			return nil, err
		}
		cmd := exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", sshdConfigPath)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.Env = childEnv()
		return cmd, nil
	})
}

// openLog opens a log file under LogDir for appending.
func openLog(name string) (*os.File, error) {
	if err := os.MkdirAll(LogDir, 0o755); err != nil {
		return nil, err
	}
	return os.OpenFile(filepath.Join(LogDir, name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
}
