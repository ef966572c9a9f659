package config

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestFromEnv(t *testing.T) {
	l, err := FromEnv(env(map[string]string{
		"TENDER_DRIVER":       "virtualbox",
		"TENDER_CPUS":         "4",
		"TENDER_MEMORY":       "4096",
		"TENDER_DISKSIZE":     "40GiB",
		"TENDER_ISO":          "/isos/t.iso",
		"TENDER_ISO_URL":      "file:///isos/t.iso",
		"TENDER_SSH_PORT":     "2022",
		"TENDER_DOCKER_PORT":  "2376",
		"TENDER_SHARES":       `/src,/data:/mnt/data:ro,C:\Users:/c/Users,d:/x`,
		"TENDER_DNS":          "1.1.1.1, 8.8.8.8",
		"TENDER_ARCH":         "arm64",
		"TENDER_ACCEL":        "tcg",
		"TENDER_VBM":          "/usr/bin/VBoxManage",
		"TENDER_BOOT_TIMEOUT": "90s",
		"TENDER_HOME":         "/elsewhere", // not a setting
		"TENDER_MEMROY":       "1",          // not ours to judge: only known names are read
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Layer{
		Driver: ptr("virtualbox"), CPUs: ptr(4), MemoryMiB: ptr(4096), DiskSizeMiB: ptr(40960),
		ISO: ptr("/isos/t.iso"), ISOURL: ptr("file:///isos/t.iso"), SSHPort: ptr(2022), DockerPort: ptr(2376),
		Shares: &[]Share{
			{Host: "/src"},
			{Host: "/data", Guest: "/mnt/data", ReadOnly: true},
			{Host: `C:\Users`, Guest: "/c/Users"},
			{Host: "d:/x"},
		},
		DNS: &[]string{"1.1.1.1", "8.8.8.8"}, Arch: ptr("arm64"), Accel: ptr("tcg"),
		VBoxManage: ptr("/usr/bin/VBoxManage"), BootTimeout: ptr(90 * time.Second),
	}
	if !reflect.DeepEqual(plain(l), want) {
		t.Errorf("FromEnv =\n%s\nwant\n%s", dump(l), dump(want))
	}

	// Empty counts as unset; "none" turns sharing off.
	l, err = FromEnv(env(map[string]string{"TENDER_CPUS": "", "TENDER_SHARES": "none"}))
	if err != nil || !reflect.DeepEqual(plain(l), Layer{Shares: &[]Share{}}) {
		t.Errorf("FromEnv(empty cpus, no shares) = %s, %v", dump(l), err)
	}
}

func TestFromEnvErrors(t *testing.T) {
	_, err := FromEnv(env(map[string]string{
		"TENDER_CPUS":         "many",
		"TENDER_MEMORY":       "lots",
		"TENDER_DISKSIZE":     "1.0001G",
		"TENDER_SSH_PORT":     "22a",
		"TENDER_BOOT_TIMEOUT": "forever",
		"TENDER_SHARES":       "/a,,/b",
	}))
	want := "env TENDER_CPUS: field `cpus` must be a whole number, got \"many\"\n" +
		"env TENDER_MEMORY: field `memory` must be a size like \"2GiB\", got \"lots\"\n" +
		"env TENDER_DISKSIZE: field `disksize` must be a whole number of MiB, got \"1.0001G\"\n" +
		"env TENDER_SSH_PORT: field `ssh_port` must be a whole number, got \"22a\"\n" +
		"env TENDER_SHARES: field `shares[1]` must be HOST[:GUEST][:ro], like \"/Users\" or \"/src:/src:ro\", got \"\"\n" +
		"env TENDER_BOOT_TIMEOUT: field `boot_timeout` must be a duration like \"5m\" or \"90s\", got \"forever\""
	if err == nil || err.Error() != want {
		t.Errorf("FromEnv errors:\n got: %v\nwant: %s", err, want)
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Where != "env TENDER_CPUS" || fe.Field != "cpus" {
		t.Errorf("FromEnv error parts: %#v", fe)
	}
}

func TestSet(t *testing.T) {
	var l Layer
	for key, value := range map[string]string{
		KeyMemory: "2G", KeyCPUs: " 3 ", KeyDNS: "", KeyShares: "", KeyBootTimeout: "120",
	} {
		if err := l.Set(key, value); err != nil {
			t.Errorf("Set(%q, %q): %v", key, value, err)
		}
	}
	want := Layer{MemoryMiB: ptr(2048), CPUs: ptr(3), DNS: &[]string{}, Shares: &[]Share{}, BootTimeout: ptr(2 * time.Minute)}
	if !reflect.DeepEqual(l, want) {
		t.Errorf("after Set: %s, want %s", dump(l), dump(want))
	}

	for _, tc := range []struct{ key, value, err string }{
		{"memory", "lots", "field `memory` must be a size like \"2GiB\", got \"lots\""},
		{"memory", "1e3G", "field `memory` must be a size like \"2GiB\", got \"1e3G\""},
		{"memory", "9999999999999999999", "field `memory` must be at most 64GiB, got \"9999999999999999999\""},
		{"cpus", "2.0", "field `cpus` must be a whole number, got \"2.0\""},
		{"boot_timeout", "99999999999", "field `boot_timeout` must be at most 24h, got \"99999999999\""},
		{"memroy", "2G", "unknown field `memroy` (did you mean `memory`?)"},
	} {
		var l Layer
		if err := l.Set(tc.key, tc.value); err == nil || err.Error() != tc.err {
			t.Errorf("Set(%q, %q) = %v, want %s", tc.key, tc.value, err, tc.err)
		}
	}
}

func TestSuggest(t *testing.T) {
	for in, want := range map[string]string{
		"memroy": "memory", "cpu": "cpus", "CPUS": "cpus", "dockerport": "docker_port",
		"boot-timeout": "boot_timeout", "timeout": "boot_timeout", "isourl": "iso_url",
		"dirver": "driver", "vboxmanage": "vbm", "zzz": "", "memoryy": "memory", "share": "shares",
	} {
		if got := suggest(in, keys); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEnvVar(t *testing.T) {
	if got := EnvVar(KeyISOURL); got != "TENDER_ISO_URL" {
		t.Errorf("EnvVar(iso_url) = %q", got)
	}
	if got := EnvVar(KeyVBoxManage); got != "TENDER_VBM" {
		t.Errorf("EnvVar(vbm) = %q", got)
	}
}
