package provision

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/tenderdev/tender/atomicfile"
)

// WriteKnownHosts writes a known_hosts file (0600) pinning hostKey for alias:
// one line, `alias ssh-ed25519 AAAA…`. The key is filed under the alias
// rather than under 127.0.0.1:PORT because the port can change between boots.
func WriteKnownHosts(path, alias string, hostKey ssh.PublicKey) error {
	if alias == "" || hostKey == nil {
		return errors.New("known_hosts needs a host alias and a host key")
	}
	line := knownhosts.Line([]string{alias}, hostKey) + "\n"
	return atomicfile.Write(path, []byte(line), 0o600)
}

// ReadKnownHosts returns the host key pinned for alias in a known_hosts file
// written by WriteKnownHosts, the key to pass to Dial.
func ReadKnownHosts(path, alias string) (ssh.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the pinned host key: %w", err)
	}
	for len(data) > 0 {
		_, hosts, key, _, rest, err := ssh.ParseKnownHosts(data)
		if errors.Is(err, io.EOF) {
			break // only comments and blank lines were left
		}
		if err != nil {
			return nil, fmt.Errorf("reading the pinned host key from %s: %w", path, err)
		}
		if slices.Contains(hosts, alias) {
			return key, nil
		}
		data = rest
	}
	return nil, fmt.Errorf("%s pins no host key for %q", path, alias)
}

// SSHConfig is what ssh_config needs so that `ssh -F ssh_config tender-NAME`
// reaches the guest with the right key and the pinned host key.
type SSHConfig struct {
	Alias          string // Host and HostKeyAlias: the machine's name as a host, "tender-dev"
	HostName       string // where sshd answers; 127.0.0.1 when empty (a guest's forwarded port)
	Port           int    // the forwarded SSH port on 127.0.0.1, or a server's
	User           string // GuestUser when empty
	IdentityFile   string // the private key
	KnownHostsFile string // written by WriteKnownHosts
}

// RenderSSHConfig renders c as an OpenSSH client config.
func RenderSSHConfig(c SSHConfig) ([]byte, error) {
	var errs []error
	if c.Alias == "" || strings.ContainsAny(c.Alias, " \t\r\n\"") {
		errs = append(errs, fmt.Errorf("ssh_config: host alias %q must be a non-empty word", c.Alias))
	}
	if c.Port <= 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("ssh_config: port %d is not a TCP port", c.Port))
	}
	if c.IdentityFile == "" || c.KnownHostsFile == "" {
		errs = append(errs, errors.New("ssh_config: the identity file and the known_hosts file are required"))
	}
	user := c.User
	if user == "" {
		user = GuestUser
	}
	if strings.ContainsAny(user, " \t\r\n\"") {
		errs = append(errs, fmt.Errorf("ssh_config: user %q must be a word", user))
	}
	hostName := c.HostName
	if hostName == "" {
		hostName = "127.0.0.1"
	}
	if strings.ContainsAny(hostName, " \t\r\n\"") {
		errs = append(errs, fmt.Errorf("ssh_config: host name %q must be a word", hostName))
	}
	for _, p := range []string{c.IdentityFile, c.KnownHostsFile} {
		if strings.ContainsAny(p, "\r\n") {
			errs = append(errs, fmt.Errorf("ssh_config: path %q contains a line break", p))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Host %s\n", c.Alias)
	fmt.Fprintf(&b, "  HostName %s\n", hostName)
	fmt.Fprintf(&b, "  Port %d\n", c.Port)
	fmt.Fprintf(&b, "  User %s\n", user)
	fmt.Fprintf(&b, "  IdentityFile %s\n", sshConfigPath(c.IdentityFile))
	fmt.Fprintf(&b, "  IdentitiesOnly yes\n")
	fmt.Fprintf(&b, "  UserKnownHostsFile %s\n", sshConfigPath(c.KnownHostsFile))
	fmt.Fprintf(&b, "  HostKeyAlias %s\n", c.Alias)
	fmt.Fprintf(&b, "  StrictHostKeyChecking yes\n")
	fmt.Fprintf(&b, "  LogLevel ERROR\n")
	return b.Bytes(), nil
}

// WriteSSHConfig renders c and writes it to path, 0600.
func WriteSSHConfig(path string, c SSHConfig) error {
	data, err := RenderSSHConfig(c)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, data, 0o600)
}

// sshConfigPath quotes a path for ssh_config. OpenSSH splits arguments on
// spaces outside double quotes, reads \\ and \" inside them as escapes, and
// expands %-tokens in IdentityFile and UserKnownHostsFile, so % is doubled.
// Windows paths are written with forward slashes, which OpenSSH for Windows
// accepts, so that their backslashes need no escaping.
func sshConfigPath(p string) string {
	p = filepath.ToSlash(p)
	p = strings.NewReplacer(`\`, `\\`, `"`, `\"`, `%`, `%%`).Replace(p)
	return `"` + p + `"`
}
