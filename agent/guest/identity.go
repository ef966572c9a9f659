//go:build linux

package guest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/atomicfile"
	"golang.org/x/sys/unix"
)

// userdataFiles maps each userdata file to its field, for keeping the
// userdata on disk under the tar's own names.
func userdataFiles(u *api.Userdata) []struct {
	name string
	data *[]byte
	mode os.FileMode
} {
	return []struct {
		name string
		data *[]byte
		mode os.FileMode
	}{
		{api.AuthorizedKeysFile, &u.AuthorizedKeys, 0o600},
		{api.SSHHostKeyFile, &u.SSHHostKey, 0o600},
		{api.CACertFile, &u.CACert, 0o644},
		{api.ServerCertFile, &u.ServerCert, 0o644},
		{api.ServerKeyFile, &u.ServerKey, 0o600},
	}
}

// saveUserdata keeps u in dir (root only).
func saveUserdata(dir string, u api.Userdata) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, f := range userdataFiles(&u) {
		if err := writeFile(filepath.Join(dir, f.name), *f.data, f.mode, 0, 0); err != nil {
			return err
		}
	}
	shares, err := json.Marshal(u.Shares)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, api.SharesFile), shares, 0o644, 0, 0); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, api.HostnameFile), []byte(u.Hostname+"\n"), 0o644, 0, 0)
}

// loadUserdata reads what saveUserdata kept.
func loadUserdata(dir string) (api.Userdata, error) {
	var u api.Userdata
	var errs []error
	for _, f := range userdataFiles(&u) {
		b, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			errs = append(errs, err)
		}
		*f.data = b
	}
	if b, err := os.ReadFile(filepath.Join(dir, api.HostnameFile)); err == nil {
		u.Hostname = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile(filepath.Join(dir, api.SharesFile)); err == nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &u.Shares); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", api.SharesFile, err))
		}
	}
	if len(errs) > 0 {
		return u, errors.Join(errs...)
	}
	return u, u.Validate()
}

// writeFile writes path through atomicfile with the given mode and owner,
// making the parent directories (mode 0755). The owner, like the mode, is
// set before the data is written, so the file appears with both.
func writeFile(path string, data []byte, mode os.FileMode, uid, gid int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFunc(path, mode, func(f *os.File) error {
		if err := f.Chown(uid, gid); err != nil {
			return err
		}
		_, err := f.Write(data)
		return err
	})
}

// account is a user from /etc/passwd.
type account struct {
	uid, gid int
	home     string
}

// lookupUser finds name in an /etc/passwd text.
func lookupUser(passwd []byte, name string) (account, bool) {
	sc := bufio.NewScanner(bytes.NewReader(passwd))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 7 || f[0] != name {
			continue
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			return account{}, false
		}
		return account{uid: uid, gid: gid, home: f[5]}, true
	}
	return account{}, false
}

// unlockShadow turns a locked password ("!…") of user into "*": without PAM,
// OpenSSH refuses even public keys to a locked account, while "*" only
// means no password can ever match.
func unlockShadow(shadow []byte, user string) ([]byte, bool) {
	lines := strings.SplitAfter(string(shadow), "\n")
	changed := false
	for i, line := range lines {
		f := strings.Split(line, ":")
		if len(f) > 2 && f[0] == user && strings.HasPrefix(f[1], "!") {
			f[1] = "*"
			lines[i] = strings.Join(f, ":")
			changed = true
		}
	}
	return []byte(strings.Join(lines, "")), changed
}

// mergeAuthorizedKeys adds the userdata's key lines missing from existing,
// keeping keys a user added by hand.
func mergeAuthorizedKeys(existing, keys []byte) []byte {
	have := map[string]bool{}
	out := bytes.TrimRight(existing, "\n")
	for _, l := range strings.Split(string(existing), "\n") {
		have[strings.TrimSpace(l)] = true
	}
	if len(out) > 0 {
		out = append(out, '\n')
	}
	for _, l := range strings.Split(string(keys), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || have[l] {
			continue
		}
		have[l] = true
		out = append(out, l+"\n"...)
	}
	return out
}

// installIdentity puts the userdata where sshd and dockerd read it, each
// boot: the docker user's authorized_keys, the host key, and the TLS files
// when missing (the host replaces those in TLSDir to rotate certs, so the
// first boot's copies must not overwrite them).
func (a *agent) installIdentity(u api.Userdata) error {
	var errs []error
	passwd, _ := os.ReadFile("/etc/passwd")
	docker, ok := lookupUser(passwd, "docker")
	if !ok {
		errs = append(errs, errors.New("user docker is missing from /etc/passwd"))
		docker = account{uid: 1000, gid: 1000, home: "/home/docker"}
	}
	if shadow, err := os.ReadFile("/etc/shadow"); err == nil {
		if fixed, changed := unlockShadow(shadow, "docker"); changed {
			if err := os.WriteFile("/etc/shadow", fixed, 0o640); err != nil {
				errs = append(errs, fmt.Errorf("unlocking user docker: %w", err))
			}
		}
	}
	home := docker.home
	sshDir := filepath.Join(home, ".ssh")
	for _, d := range []string{home, sshDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			errs = append(errs, err)
		}
		_ = os.Chown(d, docker.uid, docker.gid)
	}
	_ = os.Chmod(home, 0o755)
	_ = os.Chmod(sshDir, 0o700)
	ak := filepath.Join(sshDir, "authorized_keys")
	existing, _ := os.ReadFile(ak)
	if err := writeFile(ak, mergeAuthorizedKeys(existing, u.AuthorizedKeys), 0o600, docker.uid, docker.gid); err != nil {
		errs = append(errs, fmt.Errorf("installing authorized_keys: %w", err))
	}
	if err := writeFile(filepath.Join(SSHDir, filepath.Base(api.SSHHostKeyFile)), u.SSHHostKey, 0o600, 0, 0); err != nil {
		errs = append(errs, fmt.Errorf("installing the ssh host key: %w", err))
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{"ca.pem", u.CACert, 0o644}, {"server.pem", u.ServerCert, 0o644}, {"server-key.pem", u.ServerKey, 0o600}} {
		path := filepath.Join(TLSDir, f.name)
		if _, err := os.Stat(path); err == nil {
			continue
		}
		if err := writeFile(path, f.data, f.mode, 0, 0); err != nil {
			errs = append(errs, fmt.Errorf("installing %s: %w", path, err))
		}
	}
	if _, err := os.Stat(DaemonJSON); errors.Is(err, os.ErrNotExist) {
		if err := writeFile(DaemonJSON, []byte("{}\n"), 0o644, 0, 0); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// setHostname sets the kernel hostname and the files that name it.
func setHostname(name string) error {
	if name == "" {
		return nil
	}
	if err := unix.Sethostname([]byte(name)); err != nil {
		return fmt.Errorf("setting hostname %q: %w", name, err)
	}
	_ = os.WriteFile("/etc/hostname", []byte(name+"\n"), 0o644)
	hosts, _ := os.ReadFile("/etc/hosts")
	return os.WriteFile("/etc/hosts", []byte(renderHosts(string(hosts), name)), 0o644)
}

// renderHosts replaces the 127.0.1.1 line of an /etc/hosts text with one for
// name, or adds it.
func renderHosts(hosts, name string) string {
	var b strings.Builder
	found := false
	for _, line := range strings.Split(strings.TrimRight(hosts, "\n"), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "127.0.1.1") {
			if !found {
				fmt.Fprintf(&b, "127.0.1.1\t%s\n", name)
				found = true
			}
			continue
		}
		if line != "" || b.Len() > 0 {
			b.WriteString(line + "\n")
		}
	}
	if !strings.Contains(hosts, "localhost") {
		b.WriteString("127.0.0.1\tlocalhost\n")
	}
	if !found {
		fmt.Fprintf(&b, "127.0.1.1\t%s\n", name)
	}
	return b.String()
}
