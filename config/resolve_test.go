package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

var (
	linux   = Host{OS: "linux", Arch: "amd64", Home: "/home/ada"}
	darwin  = Host{OS: "darwin", Arch: "arm64", Home: "/Users/ada"}
	windows = Host{OS: "windows", Arch: "amd64", Home: `C:\Users\ada`}
)

func TestDefaults(t *testing.T) {
	want := Settings{
		Driver: "auto", CPUs: 2, MemoryMiB: 2048, DiskSizeMiB: 20480,
		ISOURL: "https://github.com/tenderdev/tender/releases/latest/download/tender.iso",
		Shares: []Share{{Host: "/home/ada", Guest: "/home/ada"}}, ShareType: "auto", DNS: []string{},
		Arch: "amd64", Accel: "auto", BootTimeout: 5 * time.Minute, DownAction: "shutdown",
	}
	got := Defaults(linux)
	for _, k := range keys {
		if got.Origins[k] != "default" {
			t.Errorf("origin of %s = %q, want default", k, got.Origins[k])
		}
	}
	got.Origins, got.where = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Defaults(linux) =\n%+v\nwant\n%+v", got, want)
	}
	if err := Validate(Defaults(linux), linux); err != nil {
		t.Errorf("the defaults are invalid: %v", err)
	}

	for _, tc := range []struct {
		h    Host
		want []Share
	}{
		{linux, []Share{{Host: "/home/ada", Guest: "/home/ada"}}},
		{darwin, []Share{{Host: "/Users", Guest: "/Users"}}},
		{windows, []Share{{Host: `C:\Users`, Guest: "/c/Users"}}},
		{Host{OS: "linux", Arch: "amd64"}, []Share{}}, // no home: nothing to share
	} {
		d := Defaults(tc.h)
		if !reflect.DeepEqual(d.Shares, tc.want) {
			t.Errorf("default shares on %s = %v, want %v", tc.h.OS, d.Shares, tc.want)
		}
		if d.Arch != tc.h.Arch {
			t.Errorf("default arch on %s/%s = %s", tc.h.OS, tc.h.Arch, d.Arch)
		}
		if err := Validate(d, tc.h); err != nil {
			t.Errorf("defaults on %s are invalid: %v", tc.h.OS, err)
		}
	}
}

// TestPrecedence checks, key by key, that each source wins over every one
// below it and that the origin names the winner.
func TestPrecedence(t *testing.T) {
	values := map[string][4]string{ // flag, env, machine.yaml, config.yaml
		KeyDriver:      {"qemu", "virtualbox", "auto", "qemu"},
		KeyCPUs:        {"4", "5", "6", "7"},
		KeyMemory:      {"1G", "2G", "3G", "4G"},
		KeyDiskSize:    {"10G", "20G", "30G", "40G"},
		KeyISO:         {"/a.iso", "/b.iso", "/c.iso", "/d.iso"},
		KeyISOURL:      {"https://a/t.iso", "https://b/t.iso", "https://c/t.iso", "https://d/t.iso"},
		KeySSHPort:     {"1", "2", "3", "4"},
		KeyDockerPort:  {"11", "12", "13", "14"},
		KeyShares:      {"/a", "/b", "/c", "none"},
		KeyShareType:   {"9p", "virtiofs", "auto", "9p"},
		KeyDNS:         {"1.1.1.1", "2.2.2.2", "3.3.3.3", ""},
		KeyArch:        {"amd64", "arm64", "amd64", "arm64"},
		KeyAccel:       {"tcg", "kvm", "auto", "tcg"},
		KeyVBoxManage:  {"/a/vbm", "/b/vbm", "/c/vbm", "/d/vbm"},
		KeyBootTimeout: {"1m", "2m", "3m", "4m"},
		KeyDownAction:  {"save", "shutdown", "save", "shutdown"},
		KeySSHHost:     {"a@h1", "b@h2", "c@h3", "d@h4"},
		KeySSHKey:      {"/k1", "/k2", "/k3", "/k4"},
		KeySSHHostKey:  {"SHA256:a", "SHA256:b", "SHA256:c", "SHA256:d"},
	}
	if len(values) != len(keys) {
		t.Fatalf("the test covers %d keys of %d", len(values), len(keys))
	}
	names := []string{"flag", "env", "machine.yaml", "config.yaml"}
	for key, vals := range values {
		var sources []Source
		for i, v := range vals {
			var l Layer
			var err error
			switch names[i] {
			case "env":
				l, err = FromEnv(env(map[string]string{EnvVar(key): v}))
				if v == "" { // the env cannot set an empty list; skip the layer
					continue
				}
			case "machine.yaml", "config.yaml":
				var one Layer
				if err = one.Set(key, v); err == nil {
					var b []byte
					b, err = Marshal(one)
					if err == nil {
						l, err = ParseYAML(names[i], b)
					}
				}
			default:
				err = l.Set(key, v)
			}
			if err != nil {
				t.Fatalf("%s %s=%q: %v", names[i], key, v, err)
			}
			sources = append(sources, Source{Name: names[i], Layer: l})
		}
		for top := range sources {
			got := FillDefaults(Merge(sources[top:]...), linux)
			var want Layer
			if err := want.Set(key, vals[top]); err != nil {
				t.Fatal(err)
			}
			wantS := FillDefaults(want, linux)
			gotV, wantV := got.Value(key), wantS.Value(key)
			if gotV != wantV {
				t.Errorf("%s from %v: got %s, want %s (from %s)", key, names[top:], gotV, wantV, names[top])
			}
			wantOrigin := sources[top].Name
			if wantOrigin == "env" {
				wantOrigin = "env " + EnvVar(key)
			}
			if got.Origins[key] != wantOrigin {
				t.Errorf("%s from %v: origin %q, want %q", key, names[top:], got.Origins[key], wantOrigin)
			}
			for _, other := range keys {
				if other != key && got.Origins[other] != "default" {
					t.Errorf("%s from %v: origin of %s is %q, want default", key, names[top:], other, got.Origins[other])
				}
			}
		}
	}
}

func TestResolve(t *testing.T) {
	cfg, err := ParseYAML("config.yaml", []byte("cpus: 3\nmemory: 3G\nshares: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	machine, err := ParseYAML("machine.yaml", []byte("memory: 4G\nssh_port: 2022\n"))
	if err != nil {
		t.Fatal(err)
	}
	envL, err := FromEnv(env(map[string]string{"TENDER_MEMORY": "5G", "TENDER_ISO": "~/t.iso"}))
	if err != nil {
		t.Fatal(err)
	}
	var flags Layer
	if err := flags.Set(KeyCPUs, "1"); err != nil {
		t.Fatal(err)
	}
	s, err := ResolveFor(linux,
		Source{"flag", flags}, Source{"env", envL}, Source{"machine.yaml", machine}, Source{"config.yaml", cfg})
	if err != nil {
		t.Fatal(err)
	}
	if s.CPUs != 1 || s.MemoryMiB != 5120 || s.SSHPort != 2022 || len(s.Shares) != 0 || s.ISO != "/home/ada/t.iso" {
		t.Errorf("resolved %+v", s)
	}
	wantOrigins := map[string]string{
		"driver": "default", "cpus": "flag", "memory": "env TENDER_MEMORY", "disksize": "default",
		"iso": "env TENDER_ISO", "iso_url": "default", "ssh_port": "machine.yaml", "docker_port": "default",
		"shares": "config.yaml", "share_type": "default", "dns": "default", "arch": "default", "accel": "default", "vbm": "default",
		"boot_timeout": "default", "down_action": "default",
		"ssh_host": "default", "ssh_key": "default", "ssh_host_key": "default",
	}
	if !reflect.DeepEqual(s.Origins, wantOrigins) {
		t.Errorf("origins = %v\nwant %v", s.Origins, wantOrigins)
	}

	// Resolve uses this host.
	if _, err := Resolve(); err != nil {
		t.Errorf("Resolve() with no sources: %v", err)
	}
}

func TestFillDefaults(t *testing.T) {
	l, err := ParseYAML("config.yaml", []byte(`
arch: x86_64
vbm: ~/vbox/VBoxManage
shares:
  - ~/src
  - host: "~"
  - host: /data
    guest: /mnt/data
  - ~other/x
`))
	if err != nil {
		t.Fatal(err)
	}
	s := FillDefaults(l, linux)
	want := []Share{
		{Host: "/home/ada/src", Guest: "/home/ada/src"},
		{Host: "/home/ada", Guest: "/home/ada"},
		{Host: "/data", Guest: "/mnt/data"},
		{Host: "~other/x", Guest: "~other/x"},
	}
	if !reflect.DeepEqual(s.Shares, want) || s.Arch != "amd64" || s.VBoxManage != "/home/ada/vbox/VBoxManage" {
		t.Errorf("FillDefaults: shares %v, arch %s, vbm %s", s.Shares, s.Arch, s.VBoxManage)
	}

	w := FillDefaults(Layer{Shares: &[]Share{{Host: `~\src`}, {Host: `D:\work\`}}}, windows)
	wantW := []Share{{Host: `C:\Users\ada\src`, Guest: "/c/Users/ada/src"}, {Host: `D:\work\`, Guest: "/d/work"}}
	if !reflect.DeepEqual(w.Shares, wantW) {
		t.Errorf("windows shares = %v, want %v", w.Shares, wantW)
	}
}

func TestGuestPath(t *testing.T) {
	for in, want := range map[string]string{
		"/Users":          "/Users",
		`C:\Users`:        "/c/Users",
		`c:\Users\ada\`:   "/c/Users/ada",
		"D:/src/x":        "/d/src/x",
		`E:`:              "/e",
		`\\server\share`:  `\\server\share`,
		"relative/path":   "relative/path",
		"/home/ada/it's ": "/home/ada/it's ",
	} {
		if got := GuestPath(in); got != want {
			t.Errorf("GuestPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		h     Host
		yaml  string // config.yaml
		flags map[string]string
		err   string
	}{
		{name: "negative memory", yaml: "cpus: 2\nmemory: -2G\n",
			err: "config.yaml:2: field `memory` must be at least 512MiB, got -2GiB"},
		{name: "small memory", yaml: "memory: 256\n",
			err: "config.yaml:1: field `memory` must be at least 512MiB, got 256MiB"},
		{name: "absurd memory", yaml: "memory: 1T\n",
			err: "config.yaml:1: field `memory` must be at most 64GiB, got 1TiB"},
		{name: "absurd disk", yaml: "disksize: 3T\n",
			err: "config.yaml:1: field `disksize` must be at most 2TiB, got 3TiB"},
		{name: "small disk", yaml: "disksize: 100M\n",
			err: "config.yaml:1: field `disksize` must be at least 1GiB, got 100MiB"},
		{name: "zero cpus", yaml: "cpus: 0\n",
			err: "config.yaml:1: field `cpus` must be between 1 and 64, got 0"},
		{name: "many cpus from a flag", flags: map[string]string{"cpus": "65"},
			err: "flag: field `cpus` must be between 1 and 64, got 65"},
		{name: "bad driver", yaml: "driver: vmware\n",
			err: "config.yaml:1: field `driver` must be one of auto, qemu, virtualbox, ssh, got \"vmware\""},
		{name: "server without host", yaml: "driver: ssh\nssh_key: /k\n",
			err: "field `ssh_host` must name the server with driver ssh, like \"alice@build.example.com\" (--ssh-host)"},
		{name: "server without key", yaml: "driver: ssh\nssh_host: a@b\n",
			err: "field `ssh_key` must be the private key that logs in to the server with driver ssh, like \"~/.ssh/id_ed25519\" (--ssh-key)"},
		{name: "server with a port", yaml: "driver: ssh\nssh_host: a@b:2222\nssh_key: /k\n",
			err: "config.yaml:2: field `ssh_host` must be [USER@]HOST without a port (give the port as ssh_port, --ssh-port), got \"a@b:2222\""},
		{name: "server with an empty user", yaml: "driver: ssh\nssh_host: \"@b\"\nssh_key: /k\n",
			err: "config.yaml:2: field `ssh_host` must be [USER@]HOST like \"alice@build.example.com\": the user before @ is empty, got \"@b\""},
		{name: "server with a space", yaml: "driver: ssh\nssh_host: \"a b\"\nssh_key: /k\n",
			err: "config.yaml:2: field `ssh_host` must be [USER@]HOST like \"alice@build.example.com\", without spaces or quotes, got \"a b\""},
		{name: "server keys without driver ssh", yaml: "ssh_host: a@b\n",
			err: "config.yaml:1: field `ssh_host` is for driver ssh only (a server reached over SSH), but driver is \"auto\": add --driver ssh, or leave ssh_host out"},
		{name: "server", yaml: "driver: ssh\nssh_host: a@[::1]\nssh_key: /k\n"},
		{name: "bad port", yaml: "ssh_port: 70000\n",
			err: "config.yaml:1: field `ssh_port` must be between 1 and 65535, or 0 to pick a free port, got 70000"},
		{name: "negative port", yaml: "docker_port: -1\n",
			err: "config.yaml:1: field `docker_port` must be between 1 and 65535, or 0 to pick a free port, got -1"},
		{name: "same ports", yaml: "ssh_port: 2222\ndocker_port: 2222\n",
			err: "config.yaml:2: field `docker_port` must differ from ssh_port (or be 0 to pick a free port), got 2222 for both"},
		{name: "bad url", yaml: "iso_url: ftp://example.com/t.iso\n",
			err: "config.yaml:1: field `iso_url` must be an http, https or file URL like \"https://github.com/tenderdev/tender/releases/latest/download/tender.iso\", got \"ftp://example.com/t.iso\""},
		{name: "url without host", yaml: "iso_url: https:///t.iso\n",
			err: "config.yaml:1: field `iso_url` must be an http, https or file URL like \"https://github.com/tenderdev/tender/releases/latest/download/tender.iso\", got \"https:///t.iso\""},
		{name: "url not a url", yaml: "iso_url: \"%zz\"\n",
			err: "config.yaml:1: field `iso_url` must be an http, https or file URL like \"https://github.com/tenderdev/tender/releases/latest/download/tender.iso\", got \"%zz\""},
		{name: "bad dns", yaml: "dns:\n  - 1.1.1.1\n  - dns.google\n",
			err: "config.yaml:3: field `dns[1]` must be an IP address like \"1.1.1.1\", got \"dns.google\""},
		{name: "bad share type", yaml: "share_type: nfs\n",
			err: "config.yaml:1: field `share_type` must be one of auto, 9p, virtiofs, got \"nfs\""},
		{name: "bad down action", yaml: "down_action: sleep\n",
			err: "config.yaml:1: field `down_action` must be one of shutdown, save, got \"sleep\""},
		{name: "bad arch", yaml: "arch: riscv64\n",
			err: "config.yaml:1: field `arch` must be one of amd64, arm64, got \"riscv64\""},
		{name: "bad accel", yaml: "accel: fast\n",
			err: "config.yaml:1: field `accel` must be one of auto, kvm, hvf, whpx, tcg, got \"fast\""},
		{name: "accel of another os", yaml: "accel: hvf\n",
			err: "config.yaml:1: field `accel` must be one of auto, kvm, tcg on linux (hvf is only on darwin), got \"hvf\""},
		{name: "hardware accel for another arch", yaml: "arch: arm64\naccel: kvm\n",
			err: "config.yaml:2: field `accel` must be tcg or auto to run an arm64 guest on an amd64 host, got \"kvm\""},
		{name: "virtualbox cannot emulate", yaml: "driver: virtualbox\narch: arm64\n",
			err: "config.yaml:2: field `arch` must be amd64, the host's, with the virtualbox driver (use driver qemu to emulate arm64), got \"arm64\""},
		{name: "short boot timeout", yaml: "boot_timeout: 10ms\n",
			err: "config.yaml:1: field `boot_timeout` must be at least 1s, got 10ms"},
		{name: "long boot timeout", yaml: "boot_timeout: 48h\n",
			err: "config.yaml:1: field `boot_timeout` must be at most 24h, got 48h"},
		{name: "relative share", yaml: "shares:\n  - host: src\n    guest: /src\n",
			err: "config.yaml:2: field `shares[0].host` must be an absolute path on the host, like \"/home/you\", got \"src\""},
		{name: "relative share on windows", h: windows, yaml: "shares:\n  - host: /src\n",
			err: "config.yaml:2: field `shares[0].host` must be an absolute path on the host, like \"C:\\\\Users\", got \"/src\""},
		{name: "relative guest", yaml: "shares:\n  - host: /src\n    guest: src\n",
			err: "config.yaml:3: field `shares[0].guest` must be an absolute path in the guest, like \"/Users\", got \"src\""},
		{name: "guest root", yaml: "shares:\n  - host: /src\n    guest: /\n",
			err: "config.yaml:3: field `shares[0].guest` must not be the guest's root directory, got \"/\""},
		{name: "unc share needs a guest", h: windows, yaml: "shares:\n  - '\\\\server\\x'\n",
			err: "config.yaml:2: field `shares[0].guest` must be an absolute path in the guest, like \"/Users\", got \"\\\\\\\\server\\\\x\""},
		{name: "same guest twice", yaml: "shares:\n  - /a\n  - host: /b\n    guest: /a/\n",
			err: "config.yaml:4: field `shares[1].guest` must differ from shares[0].guest \"/a\", got \"/a/\""},
		{name: "every problem, one per line", yaml: "cpus: 0\nmemory: 1T\ndriver: x\n",
			err: "config.yaml:3: field `driver` must be one of auto, qemu, virtualbox, ssh, got \"x\"\n" +
				"config.yaml:1: field `cpus` must be between 1 and 64, got 0\n" +
				"config.yaml:2: field `memory` must be at most 64GiB, got 1TiB"},
		{name: "env names the variable", flags: map[string]string{"env:TENDER_MEMORY": "100M"},
			err: "env TENDER_MEMORY: field `memory` must be at least 512MiB, got 100MiB"},
		{name: "on windows", h: windows, yaml: "shares:\n  - 'C:\\src'\n  - host: 'D:\\'\n    guest: /d\n"},
		{name: "on darwin", h: darwin, yaml: "accel: hvf\n"},
		{name: "emulation", yaml: "arch: arm64\naccel: tcg\n"},
		{name: "file url", yaml: "iso_url: file:///tmp/t.iso\n"},
		{name: "ipv6 dns", yaml: "dns: ['2606:4700:4700::1111']\n"},
		{name: "limits", yaml: "cpus: 64\nmemory: 512M\ndisksize: 2T\nssh_port: 65535\ndocker_port: 1\nboot_timeout: 24h\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			if h.OS == "" {
				h = linux
			}
			cfg, err := ParseYAML("config.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			var flags Layer
			vars := map[string]string{}
			for k, v := range tc.flags {
				if name, ok := strings.CutPrefix(k, "env:"); ok {
					vars[name] = v
				} else if err := flags.Set(k, v); err != nil {
					t.Fatal(err)
				}
			}
			envL, err := FromEnv(env(vars))
			if err != nil {
				t.Fatal(err)
			}
			_, err = ResolveFor(h, Source{"flag", flags}, Source{"env", envL}, Source{"config.yaml", cfg})
			if tc.err == "" {
				if err != nil {
					t.Errorf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.err {
				t.Errorf("\n got: %v\nwant: %s", err, tc.err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error %v holds no *FieldError", err)
			}
		})
	}
}

func TestFillDefaultsOrigins(t *testing.T) {
	// A layer passed straight to FillDefaults names its file.
	l, err := ParseYAML("machine.yaml", []byte("\ncpus: 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := FillDefaults(l, linux)
	if s.Origins[KeyCPUs] != "machine.yaml" || s.Origins[KeyMemory] != "default" {
		t.Errorf("origins = %v", s.Origins)
	}
}

func TestISOURLFollowsArch(t *testing.T) {
	amd := Host{OS: "linux", Arch: "amd64", Home: "/home/u"}
	arm := Host{OS: "darwin", Arch: "arm64", Home: "/Users/u"}
	mirror := "https://example.com/tender.iso"
	for _, tt := range []struct {
		name string
		l    Layer
		h    Host
		want string
	}{
		{"amd64 host", Layer{}, amd, DefaultISOURL},
		{"apple silicon prefers the arm64 image", Layer{}, arm, DefaultISOURLArm64},
		{"--arch arm64 on amd64", Layer{Arch: ptr("arm64")}, amd, DefaultISOURLArm64},
		{"aarch64 spelling", Layer{Arch: ptr("aarch64")}, amd, DefaultISOURLArm64},
		{"--arch amd64 on apple silicon", Layer{Arch: ptr("amd64")}, arm, DefaultISOURL},
		{"a set iso_url wins", Layer{Arch: ptr("arm64"), ISOURL: &mirror}, arm, mirror},
	} {
		if got := FillDefaults(tt.l, tt.h).ISOURL; got != tt.want {
			t.Errorf("%s: iso_url = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// A server's ssh_port is 22 unless given; a VM's stays 0 (a free port).
func TestServerSSHPortDefault(t *testing.T) {
	cfg, err := ParseYAML("config.yaml", []byte("driver: ssh\nssh_host: a@b\nssh_key: ~/.ssh/id\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ResolveFor(linux, Source{"config.yaml", cfg})
	if err != nil {
		t.Fatal(err)
	}
	if s.SSHPort != DefaultServerSSHPort || s.SSHKey != "/home/ada/.ssh/id" {
		t.Errorf("ssh_port %d, ssh_key %q; want 22 and the key under the home", s.SSHPort, s.SSHKey)
	}
	if d := Defaults(linux); d.SSHPort != 0 {
		t.Errorf("a VM's default ssh_port = %d, want 0", d.SSHPort)
	}
}
