package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

// plain drops the bookkeeping of where values were read, to compare values.
func plain(l Layer) Layer {
	l.marks = nil
	return l
}

func TestParseYAML(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Layer
	}{
		{"empty", "", Layer{}},
		{"comments only", "# nothing here\n", Layer{}},
		{"null document", "~\n", Layer{}},
		{"null values stay unset", "memory:\ncpus: ~\nshares: null\n", Layer{}},
		{"every key", `
driver: qemu
cpus: 4
memory: 4GiB
disksize: 40G
iso: /tmp/tender.iso
iso_url: https://example.com/t.iso
ssh_port: 2222
docker_port: 0
shares:
  - /Users
  - host: /src
    guest: /mnt/src
    read_only: true
dns: [1.1.1.1, "9.9.9.9"]
arch: arm64
accel: tcg
vbm: /opt/VirtualBox/VBoxManage
boot_timeout: 10m
`, Layer{
			Driver: ptr("qemu"), CPUs: ptr(4), MemoryMiB: ptr(4096), DiskSizeMiB: ptr(40960),
			ISO: ptr("/tmp/tender.iso"), ISOURL: ptr("https://example.com/t.iso"),
			SSHPort: ptr(2222), DockerPort: ptr(0),
			Shares: &[]Share{{Host: "/Users"}, {Host: "/src", Guest: "/mnt/src", ReadOnly: true}},
			DNS:    &[]string{"1.1.1.1", "9.9.9.9"}, Arch: ptr("arm64"), Accel: ptr("tcg"),
			VBoxManage: ptr("/opt/VirtualBox/VBoxManage"), BootTimeout: ptr(10 * time.Minute),
		}},
		{"memory as MiB like boot2docker -m", "memory: 2048\n", Layer{MemoryMiB: ptr(2048)}},
		{"memory as quoted number", `memory: "1536"`, Layer{MemoryMiB: ptr(1536)}},
		{"memory 1.5G", "memory: 1.5G\n", Layer{MemoryMiB: ptr(1536)}},
		{"memory as float of whole MiB", "memory: 2048.0\n", Layer{MemoryMiB: ptr(2048)}},
		{"negative memory parses, Validate rejects it", "memory: -1G\n", Layer{MemoryMiB: ptr(-1024)}},
		{"cpus as quoted number", `cpus: "3"`, Layer{CPUs: ptr(3)}},
		{"cpus in hex", "cpus: 0x10\n", Layer{CPUs: ptr(16)}},
		{"empty shares turn sharing off", "shares: []\n", Layer{Shares: &[]Share{}}},
		{"empty dns", "dns: []\n", Layer{DNS: &[]string{}}},
		{"boot_timeout in seconds", "boot_timeout: 600\n", Layer{BootTimeout: ptr(10 * time.Minute)}},
		{"driver written as a number is a string", "iso: 2024\n", Layer{ISO: ptr("2024")}},
		{"anchors and aliases", "ssh_port: &p 2222\ndocker_port: *p\n", Layer{SSHPort: ptr(2222), DockerPort: ptr(2222)}},
		{"explicit document start", "---\ncpus: 2\n", Layer{CPUs: ptr(2)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseYAML("config.yaml", []byte(tc.in))
			if err != nil {
				t.Fatalf("ParseYAML: %v", err)
			}
			if !reflect.DeepEqual(plain(got), tc.want) {
				t.Errorf("ParseYAML =\n%s\nwant\n%s", dump(got), dump(tc.want))
			}
		})
	}
}

func dump(l Layer) string {
	b, err := Marshal(l)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func TestParseYAMLErrors(t *testing.T) {
	tests := []struct{ in, err string }{
		// Unknown keys, with a suggestion when one is close.
		{"cpus: 2\nmemory: 2G\nmemroy: 4G\n",
			"config.yaml:3: unknown field `memroy` (did you mean `memory`?)"},
		{"disk_size: 10G\n", "config.yaml:1: unknown field `disk_size` (did you mean `disksize`?)"},
		{"mem: 4G\n", "config.yaml:1: unknown field `mem` (did you mean `memory`?)"},
		{"sshport: 22\n", "config.yaml:1: unknown field `sshport` (did you mean `ssh_port`?)"},
		{"iso-url: x\n", "config.yaml:1: unknown field `iso-url` (did you mean `iso_url`?)"},
		{"Memory: 4G\n", "config.yaml:1: unknown field `Memory` (did you mean `memory`?)"},
		{"colour: blue\n", "config.yaml:1: unknown field `colour` (the fields are driver, cpus, memory, disksize, iso, iso_url, ssh_port, docker_port, shares, share_type, dns, arch, accel, vbm, boot_timeout, down_action, ssh_host, ssh_key, ssh_host_key)"},
		{"cpus: 2\ncpus: 3\n", "config.yaml:2: field `cpus` is set twice (first on line 1)"},

		// Wrong types.
		{"\n\nmemory: lots\n", `config.yaml:3: field ` + "`memory`" + ` must be a size like "2GiB", got "lots"`},
		{"memory: [2G]\n", "config.yaml:1: field `memory` must be a size like \"2GiB\", got a list"},
		{"memory: true\n", "config.yaml:1: field `memory` must be a size like \"2GiB\", got true"},
		{"memory: 1.3M\n", "config.yaml:1: field `memory` must be a whole number of MiB, got \"1.3M\""},
		{"memory: 1.5\n", "config.yaml:1: field `memory` must be a whole number of MiB, got 1.5"},
		{"disksize: 99999999999999999999T\n", "config.yaml:1: field `disksize` must be at most 2TiB, got \"99999999999999999999T\""},
		{"disksize: 99999999999999999999\n", "config.yaml:1: field `disksize` must be at most 2TiB, got 99999999999999999999"},
		{"cpus: two\n", "config.yaml:1: field `cpus` must be a whole number, got \"two\""},
		{"cpus: 2.5\n", "config.yaml:1: field `cpus` must be a whole number, got 2.5"},
		{"cpus: {n: 2}\n", "config.yaml:1: field `cpus` must be a whole number, got a mapping"},
		{"ssh_port: 99999999999\n", "config.yaml:1: field `ssh_port` must be a whole number, got 99999999999"},
		{"docker_port: \"\"\n", "config.yaml:1: field `docker_port` must be a whole number, got \"\""},
		{"driver: [qemu]\n", "config.yaml:1: field `driver` must be a string, got a list"},
		{"boot_timeout: soon\n", "config.yaml:1: field `boot_timeout` must be a duration like \"5m\" or \"90s\", got \"soon\""},
		{"boot_timeout: 1.5\n", "config.yaml:1: field `boot_timeout` must be a duration like \"5m\" or \"90s\", got 1.5"},
		{"boot_timeout: 99999999999999\n", "config.yaml:1: field `boot_timeout` must be at most 24h, got 99999999999999"},
		{"dns: 1.1.1.1\n", "config.yaml:1: field `dns` must be a list of IP addresses like [\"1.1.1.1\"], got \"1.1.1.1\""},
		{"dns:\n  - 1.1.1.1\n  - [x]\n", "config.yaml:3: field `dns[1]` must be an IP address like \"1.1.1.1\", got a list"},
		{"shares: /Users\n", "config.yaml:1: field `shares` must be a list of shares like [{host: /Users, guest: /Users}], got \"/Users\""},
		{"shares:\n  - host: /a\n    hots: /b\n", "config.yaml:3: unknown field `shares[0].hots` (did you mean `shares[0].host`?)"},
		{"shares:\n  - host: /a\n    mode: rw\n", "config.yaml:3: unknown field `shares[0].mode` (a share has host, guest and read_only)"},
		{"shares:\n  - host: /a\n    read_only: yes please\n", "config.yaml:3: field `shares[0].read_only` must be true or false, got \"yes please\""},
		{"shares:\n  - host: [a]\n", "config.yaml:2: field `shares[0].host` must be a path, got a list"},
		{"shares:\n  - 7\n", "config.yaml:2: field `shares[0]` must be a host path or a mapping like {host: /Users, guest: /Users}, got 7"},

		// Every problem is reported, one per line.
		{"cpus: two\nmemroy: 2G\nmemory: lots\n",
			"config.yaml:1: field `cpus` must be a whole number, got \"two\"\n" +
				"config.yaml:2: unknown field `memroy` (did you mean `memory`?)\n" +
				"config.yaml:3: field `memory` must be a size like \"2GiB\", got \"lots\""},

		// Not settings at all.
		{"- cpus: 2\n", "config.yaml:1: settings must be a mapping of fields like \"memory: 2GiB\", got a list"},
		{"memory 2G\n", "config.yaml:1: settings must be a mapping of fields like \"memory: 2GiB\", got \"memory 2G\""},
		{"cpus: 2\n  memory: 3\n", "config.yaml:2: mapping values are not allowed in this context (is this valid YAML?)"},
		{"cpus: [2\n", "config.yaml:1: did not find expected ',' or ']' (is this valid YAML?)"},
		{"cpus: 2\n---\ncpus: 3\n", "config.yaml:2: only one YAML document is allowed (remove the second \"---\")"},
	}
	for _, tc := range tests {
		_, err := ParseYAML("config.yaml", []byte(tc.in))
		if err == nil || err.Error() != tc.err {
			t.Errorf("ParseYAML(%q):\n got: %v\nwant: %s", tc.in, err, tc.err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()

	l, err := Load(filepath.Join(dir, "missing.yaml"))
	if err != nil || !reflect.DeepEqual(l, Layer{}) {
		t.Errorf("Load(missing) = %v, %v; want an empty layer and no error", dump(l), err)
	}

	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte("cpus: 3\nmemory: lots\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	want := path + ":2: field `memory` must be a size like \"2GiB\", got \"lots\""
	if err == nil || err.Error() != want {
		t.Errorf("Load error:\n got: %v\nwant: %s", err, want)
	}

	if err := os.WriteFile(path, []byte("cpus: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err = Load(path)
	if err != nil || l.CPUs == nil || *l.CPUs != 3 {
		t.Errorf("Load = %v, %v; want cpus 3", dump(l), err)
	}

	// A directory where the file should be is an error, not "missing".
	if _, err := Load(dir); err == nil || !strings.HasPrefix(err.Error(), "reading settings: ") {
		t.Errorf("Load(dir) = %v; want a reading error", err)
	}
}

// syntaxError used a regexp, ^yaml: line (\d+): (.*)$; these are the cases
// where that pattern and a plain prefix differ.
func TestSyntaxError(t *testing.T) {
	tests := []struct{ in, want string }{
		{"yaml: line 3: did not find expected key", "c.yaml:3: did not find expected key (is this valid YAML?)"},
		{"yaml: line 12: a: b", "c.yaml:12: a: b (is this valid YAML?)"},
		{"yaml: line 3: ", "c.yaml:3:  (is this valid YAML?)"},
		{"yaml: line x: bad", "c.yaml: line x: bad (is this valid YAML?)"},
		{"yaml: line : bad", "c.yaml: line : bad (is this valid YAML?)"},
		{"yaml: line 3 bad", "c.yaml: line 3 bad (is this valid YAML?)"},
		{"yaml: line 3: two\nlines", "c.yaml: line 3: two\nlines (is this valid YAML?)"},
		{"yaml: control characters are not allowed", "c.yaml: control characters are not allowed (is this valid YAML?)"},
		{"unexpected EOF", "c.yaml: unexpected EOF"},
	}
	for _, tc := range tests {
		if got := syntaxError("c.yaml", errors.New(tc.in)).Error(); got != tc.want {
			t.Errorf("syntaxError(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
