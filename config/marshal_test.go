package config

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hostDependent are the keys whose default depends on the host, so
// default.yaml describes them in comments instead of setting them.
var hostDependent = map[string]bool{KeyShares: true, KeyArch: true, KeyISOURL: true}

func TestDefaultYAML(t *testing.T) {
	l, err := ParseYAML("default.yaml", DefaultYAML)
	if err != nil {
		t.Fatalf("default.yaml does not load: %v", err)
	}
	for _, key := range keys {
		if l.IsSet(key) == hostDependent[key] {
			t.Errorf("default.yaml: %s set = %v, want %v", key, l.IsSet(key), !hostDependent[key])
		}
		// Every key is listed, set or (host-dependent) in a comment.
		re := regexp.MustCompile(`(?m)^(# )?` + regexp.QuoteMeta(key) + `:`)
		if !re.Match(DefaultYAML) {
			t.Errorf("default.yaml does not mention %s", key)
		}
	}
	for _, h := range []Host{linux, darwin, windows} {
		got, want := FillDefaults(l, h), Defaults(h)
		got.Origins, got.where, want.Origins, want.where = nil, nil, nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("default.yaml on %s =\n%s\nbuiltin defaults =\n%s", h.OS, got.YAML(false), want.YAML(false))
		}
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, l := range []Layer{
		{},
		{CPUs: ptr(3)},
		{Shares: &[]Share{}, DNS: &[]string{}},
		{MemoryMiB: ptr(1536), DiskSizeMiB: ptr(1024 * 1024), BootTimeout: ptr(90 * time.Second)},
		{Driver: ptr("yes"), ISO: ptr("/tmp/it's a $HOME/t.iso"), VBoxManage: ptr("null"), Arch: ptr("")},
		{Shares: &[]Share{{Host: `C:\Users`, Guest: "/c/Users"}, {Host: "/x: y", ReadOnly: true}}},
		Defaults(linux).Layer(),
	} {
		b, err := Marshal(l)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", l, err)
		}
		back, err := ParseYAML("machine.yaml", b)
		if err != nil {
			t.Fatalf("reading back\n%s: %v", b, err)
		}
		if !reflect.DeepEqual(plain(back), l) {
			t.Errorf("round trip of\n%s\ngave\n%s", b, dump(back))
		}
	}
}

func TestMarshal(t *testing.T) {
	b, err := Marshal(Layer{
		MemoryMiB: ptr(4096), CPUs: ptr(4), SSHPort: ptr(0),
		Shares: &[]Share{{Host: "/Users"}, {Host: "/src", Guest: "/mnt/src", ReadOnly: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `cpus: 4
memory: 4GiB
ssh_port: 0
shares:
  - host: /Users
  - host: /src
    guest: /mnt/src
    read_only: true
`
	if string(b) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", b, want)
	}
}

func TestSettingsYAML(t *testing.T) {
	cfg, err := ParseYAML("config.yaml", []byte("dns: [1.1.1.1]\n"))
	if err != nil {
		t.Fatal(err)
	}
	envL, err := FromEnv(env(map[string]string{"TENDER_MEMORY": "4G"}))
	if err != nil {
		t.Fatal(err)
	}
	var flags Layer
	if err := flags.Set(KeyCPUs, "4"); err != nil {
		t.Fatal(err)
	}
	s, err := ResolveFor(linux, Source{"flag", flags}, Source{"env", envL}, Source{"config.yaml", cfg})
	if err != nil {
		t.Fatal(err)
	}
	want := `driver: auto              # from default
cpus: 4                   # from flag
memory: 4GiB              # from env TENDER_MEMORY
disksize: 20GiB           # from default
iso: ""                   # from default
iso_url: https://github.com/tenderdev/tender/releases/latest/download/tender.iso  # from default
ssh_port: 0               # from default
docker_port: 0            # from default
shares:                   # from default
  - host: /home/ada
    guest: /home/ada
    read_only: false
share_type: auto          # from default
dns: [1.1.1.1]            # from config.yaml
arch: amd64               # from default
accel: auto               # from default
vbm: ""                   # from default
boot_timeout: 5m          # from default
down_action: shutdown     # from default
ssh_host: ""              # from default
ssh_key: ""               # from default
ssh_host_key: ""          # from default
`
	if got := string(s.YAML(true)); got != want {
		t.Errorf("YAML(true) =\n%s\nwant\n%s", got, want)
	}

	// Both renderings are settings files that give back the same settings.
	for _, withOrigins := range []bool{true, false} {
		out := s.YAML(withOrigins)
		if strings.Contains(string(out), "#") != withOrigins {
			t.Errorf("YAML(%v) comments: %s", withOrigins, out)
		}
		l, err := ParseYAML("config.yaml", out)
		if err != nil {
			t.Fatalf("YAML(%v) does not read back: %v", withOrigins, err)
		}
		back := FillDefaults(l, linux)
		if !reflect.DeepEqual(back.Layer(), s.Layer()) {
			t.Errorf("YAML(%v) read back as\n%s", withOrigins, back.YAML(false))
		}
	}

	for key, want := range map[string]string{
		KeyMemory: "4GiB", KeyCPUs: "4", KeyDNS: "[1.1.1.1]", KeyISO: `""`,
		KeyShares: "[{host: /home/ada, guest: /home/ada}]", KeyBootTimeout: "5m", "nope": "",
	} {
		if got := s.Value(key); got != want {
			t.Errorf("Value(%s) = %q, want %q", key, got, want)
		}
	}
}

func TestValidateName(t *testing.T) {
	for _, good := range []string{"default", "dev", "dev-2", "my_vm", "v1.2", "A", "0", strings.Repeat("a", 64)} {
		if err := ValidateName(good); err != nil {
			t.Errorf("ValidateName(%q): %v", good, err)
		}
	}
	rule := `: use 1 to 64 letters, digits, "-", "_" or ".", starting with a letter or digit, without ".." (like "default" or "dev-2")`
	for _, bad := range []string{"", "..", ".", "a/b", `a\b`, "../x", "a..b", ".hidden", "-rf", "_x",
		"a b", "é", "a:b", "x\n", strings.Repeat("a", 65)} {
		err := ValidateName(bad)
		want := "invalid machine name " + strconv.Quote(bad) + rule
		if err == nil || err.Error() != want {
			t.Errorf("ValidateName(%q) = %v\nwant %s", bad, err, want)
		}
	}
	for name, want := range map[string]string{
		"con":     `invalid machine name "con": "con" is a device name on Windows, choose another`,
		"NUL.dev": `invalid machine name "NUL.dev": "nul" is a device name on Windows, choose another`,
		"Com1":    `invalid machine name "Com1": "com1" is a device name on Windows, choose another`,
	} {
		if err := ValidateName(name); err == nil || err.Error() != want {
			t.Errorf("ValidateName(%q) = %v, want %s", name, err, want)
		}
	}
	for _, good := range []string{"console", "com10", "nully"} {
		if err := ValidateName(good); err != nil {
			t.Errorf("ValidateName(%q): %v", good, err)
		}
	}
}
