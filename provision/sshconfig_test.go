package provision

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestRenderSSHConfig(t *testing.T) {
	tests := []struct {
		golden string
		config SSHConfig
	}{
		{"ssh_config.golden", SSHConfig{
			Alias:          "tender-default",
			Port:           2222,
			IdentityFile:   "/home/me/.tender/machines/default/id_ed25519",
			KnownHostsFile: "/home/me/.tender/machines/default/known_hosts",
		}},
		{"ssh_config_awkward_path.golden", SSHConfig{
			Alias:          "tender-dev",
			Port:           50022,
			User:           "docker",
			IdentityFile:   `/Users/Jane Doe/it's 100%/"quoted"/id_ed25519`,
			KnownHostsFile: `/Users/Jane Doe/it's 100%/"quoted"/known_hosts`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got, err := RenderSSHConfig(tt.config)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, got)
		})
	}
}

func TestSSHConfigPathOnWindows(t *testing.T) {
	if runtime.GOOS != "windows" {
		t.Skip("filepath.ToSlash only converts on Windows")
	}
	got := sshConfigPath(`C:\Users\Jane Doe\.tender\machines\default\id_ed25519`)
	want := `"C:/Users/Jane Doe/.tender/machines/default/id_ed25519"`
	if got != want {
		t.Errorf("sshConfigPath = %s, want %s", got, want)
	}
}

func TestRenderSSHConfigRejects(t *testing.T) {
	good := SSHConfig{Alias: "tender-x", Port: 22, IdentityFile: "/k", KnownHostsFile: "/h"}
	tests := []struct {
		name   string
		change func(*SSHConfig)
		want   string
	}{
		{"no alias", func(c *SSHConfig) { c.Alias = "" }, "host alias"},
		{"alias with a space", func(c *SSHConfig) { c.Alias = "tender x" }, "host alias"},
		{"port 0", func(c *SSHConfig) { c.Port = 0 }, "port 0"},
		{"port too big", func(c *SSHConfig) { c.Port = 70000 }, "port 70000"},
		{"no identity", func(c *SSHConfig) { c.IdentityFile = "" }, "identity file"},
		{"newline in a path", func(c *SSHConfig) { c.KnownHostsFile = "/a\nHost *" }, "line break"},
	}
	for _, tt := range tests {
		c := good
		tt.change(&c)
		_, err := RenderSSHConfig(c)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: RenderSSHConfig = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

func TestWriteKnownHostsAndSSHConfig(t *testing.T) {
	dir := t.TempDir()
	key, err := NewSSHKey("host")
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(key.Public)
	if err != nil {
		t.Fatal(err)
	}
	kh := filepath.Join(dir, "known_hosts")
	if err := WriteKnownHosts(kh, "tender-dev", pub); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(kh)
	if err != nil {
		t.Fatal(err)
	}
	want := "tender-dev " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + "\n"
	if string(data) != want {
		t.Errorf("known_hosts = %q, want %q", data, want)
	}
	got, err := ReadKnownHosts(kh, "tender-dev")
	if err != nil || string(got.Marshal()) != string(pub.Marshal()) {
		t.Errorf("ReadKnownHosts = %v, %v; want the written key", got, err)
	}
	if _, err := ReadKnownHosts(kh, "tender-other"); err == nil || !strings.Contains(err.Error(), `pins no host key for "tender-other"`) {
		t.Errorf("ReadKnownHosts for another alias = %v, want an error", err)
	}
	cfg := filepath.Join(dir, "ssh_config")
	if err := WriteSSHConfig(cfg, SSHConfig{Alias: "tender-dev", Port: 1, IdentityFile: "/k", KnownHostsFile: kh}); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		for _, p := range []string{kh, cfg} {
			info, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", filepath.Base(p), info.Mode().Perm())
			}
		}
	}
}
