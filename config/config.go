// Package config is the schema of a machine's settings: the YAML keys, their
// builtin defaults, and how the sources of settings are combined.
//
// Settings come from layers, highest precedence first:
//
//	command-line flags > TENDER_* environment > machine.yaml > config.yaml > builtin defaults
//
// Each source is parsed into a [Layer] (pointer fields: unset differs from
// zero) by [ParseYAML], [Load], [FromEnv] or [Layer.Set]. [Resolve] merges the
// layers, fills the builtin defaults ([FillDefaults]) and checks the result
// ([Validate]), keeping these three steps apart. Every problem is reported in
// one shape, naming where it came from, the field and the fix:
//
//	config.yaml:3: field `memory` must be a size like "2GiB", got "lots"
//
// The package reads files and nothing else: no network, no processes.
package config

import (
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/tenderdev/tender/agent/api"
)

// The YAML keys, in the order they are documented and printed.
const (
	KeyDriver      = "driver"
	KeyCPUs        = "cpus"
	KeyMemory      = "memory"
	KeyDiskSize    = "disksize"
	KeyISO         = "iso"
	KeyISOURL      = "iso_url"
	KeySSHPort     = "ssh_port"
	KeyDockerPort  = "docker_port"
	KeyShares      = "shares"
	KeyShareType   = "share_type"
	KeyDNS         = "dns"
	KeyArch        = "arch"
	KeyAccel       = "accel"
	KeyVBoxManage  = "vbm"
	KeyBootTimeout = "boot_timeout"
	KeyDownAction  = "down_action"
	KeySSHHost     = "ssh_host"
	KeySSHKey      = "ssh_key"
	KeySSHHostKey  = "ssh_host_key"
)

var keys = []string{
	KeyDriver, KeyCPUs, KeyMemory, KeyDiskSize, KeyISO, KeyISOURL, KeySSHPort,
	KeyDockerPort, KeyShares, KeyShareType, KeyDNS, KeyArch, KeyAccel, KeyVBoxManage, KeyBootTimeout, KeyDownAction,
	KeySSHHost, KeySSHKey, KeySSHHostKey,
}

// Keys returns every YAML key, in the documented order.
func Keys() []string { return append([]string(nil), keys...) }

// EnvVar returns the environment variable that sets key: TENDER_ and the key
// in upper case (TENDER_MEMORY, TENDER_ISO_URL, TENDER_BOOT_TIMEOUT).
func EnvVar(key string) string { return "TENDER_" + upper(key) }

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// Limits of the values; Validate enforces them.
const (
	MaxCPUs        = 64
	MinMemoryMiB   = 512
	MaxMemoryMiB   = 64 * 1024
	MinDiskSizeMiB = 1024
	MaxDiskSizeMiB = 2 * 1024 * 1024
	MinBootTimeout = time.Second
	MaxBootTimeout = 24 * time.Hour
	DefaultISOURL  = "https://github.com/tenderdev/tender/releases/latest/download/tender.iso"
	// DefaultISOURLArm64 is the default for arm64 machines (Apple Silicon):
	// the arm64 image, which the darwin/arm64 and linux/arm64 builds prefer.
	DefaultISOURLArm64 = "https://github.com/tenderdev/tender/releases/latest/download/tender-arm64.iso"
	defaultCPUs        = 2
	defaultMemoryMiB   = 2048
	defaultDiskMiB     = 20 * 1024
	defaultTimeout     = 5 * time.Minute
	// DownShutdown and DownSave are the values of down_action.
	DownShutdown = "shutdown"
	DownSave     = "save"
	// DriverSSH is the driver of a machine that is a server tender does not
	// run, reached over SSH (ssh_host, ssh_port, ssh_key, ssh_host_key).
	DriverSSH = "ssh"
	// DefaultServerSSHPort is a server's ssh_port when none is given.
	DefaultServerSSHPort = 22
)

// The accepted values of the enumerated keys.
var (
	// DriverSSH is an existing server reached over SSH: no VM.
	Drivers = []string{"auto", "qemu", "virtualbox", DriverSSH}
	Arches  = []string{"amd64", "arm64"}
	Accels  = []string{"auto", "kvm", "hvf", "whpx", "tcg"}
	// ShareTypes: auto is virtiofs where the qemu driver finds virtiofsd,
	// 9p elsewhere; virtualbox shares are always vboxsf.
	ShareTypes = []string{"auto", api.Share9p, api.ShareVirtiofs}
	// DownActions: what `tender down` does. save keeps the machine's memory
	// (see `tender save`) where the driver can.
	DownActions = []string{DownShutdown, DownSave}
)

// Share is a host directory mounted in the guest.
type Share struct {
	Host     string `json:"host" yaml:"host"`
	Guest    string `json:"guest" yaml:"guest"`
	ReadOnly bool   `json:"read_only" yaml:"read_only"`
}

// Layer is the settings from one source. A nil field is unset and leaves the
// value to the layers below; a non-nil pointer to a zero value is set (so
// `shares: []` turns sharing off and `ssh_port: 0` asks for a free port).
// Sizes are MiB.
type Layer struct {
	Driver      *string
	CPUs        *int
	MemoryMiB   *int
	DiskSizeMiB *int
	ISO         *string
	ISOURL      *string
	SSHPort     *int
	DockerPort  *int
	Shares      *[]Share
	ShareType   *string
	DNS         *[]string
	Arch        *string
	Accel       *string
	VBoxManage  *string
	BootTimeout *time.Duration
	DownAction  *string
	SSHHost     *string
	SSHKey      *string
	SSHHostKey  *string

	// marks says, per key, where the value was read, for messages and
	// origins. Absent keys use the Source's name.
	marks map[string]mark
}

// mark locates one value: where is put before error messages
// ("config.yaml:3", "env TENDER_MEMORY"); origin, when not empty, replaces
// the Source's name in Settings.Origins ("env TENDER_MEMORY").
type mark struct {
	where  string
	origin string
}

// SetWhere names where key's value was given ("flag --cpus"), for the
// messages about it; by default they name the layer's source.
func (l *Layer) SetWhere(key, where string) { l.mark(key, mark{where: where}) }

func (l *Layer) mark(key string, m mark) {
	if l.marks == nil {
		l.marks = map[string]mark{}
	}
	l.marks[key] = m
}

// IsSet reports whether the layer sets key.
func (l Layer) IsSet(key string) bool {
	switch key {
	case KeyDriver:
		return l.Driver != nil
	case KeyCPUs:
		return l.CPUs != nil
	case KeyMemory:
		return l.MemoryMiB != nil
	case KeyDiskSize:
		return l.DiskSizeMiB != nil
	case KeyISO:
		return l.ISO != nil
	case KeyISOURL:
		return l.ISOURL != nil
	case KeySSHPort:
		return l.SSHPort != nil
	case KeyDockerPort:
		return l.DockerPort != nil
	case KeyShares:
		return l.Shares != nil
	case KeyShareType:
		return l.ShareType != nil
	case KeyDownAction:
		return l.DownAction != nil
	case KeyDNS:
		return l.DNS != nil
	case KeyArch:
		return l.Arch != nil
	case KeyAccel:
		return l.Accel != nil
	case KeyVBoxManage:
		return l.VBoxManage != nil
	case KeyBootTimeout:
		return l.BootTimeout != nil
	case KeySSHHost:
		return l.SSHHost != nil
	case KeySSHKey:
		return l.SSHKey != nil
	case KeySSHHostKey:
		return l.SSHHostKey != nil
	}
	return false
}

// Source is a named layer. The name becomes the origin of the values it sets:
// "flag", "env", "machine.yaml", "config.yaml".
type Source struct {
	Name  string
	Layer Layer
}

// Origin names used by Resolve.
const OriginDefault = "default"

// Settings is the resolved configuration of one machine: every value set.
type Settings struct {
	Driver      string        `json:"driver"`
	CPUs        int           `json:"cpus"`
	MemoryMiB   int           `json:"memory_mib"`
	DiskSizeMiB int           `json:"disk_size_mib"`
	ISO         string        `json:"iso"`     // empty: the cached image
	ISOURL      string        `json:"iso_url"` // where to download the image
	SSHPort     int           `json:"ssh_port"`
	DockerPort  int           `json:"docker_port"` // 0: pick a free port
	Shares      []Share       `json:"shares"`
	ShareType   string        `json:"share_type"`
	DNS         []string      `json:"dns"` // empty: from DHCP
	Arch        string        `json:"arch"`
	Accel       string        `json:"accel"`
	VBoxManage  string        `json:"vbm"` // empty: VBoxManage from PATH
	BootTimeout time.Duration `json:"boot_timeout"`
	DownAction  string        `json:"down_action"` // DownShutdown or DownSave
	// The server of a machine with driver ssh: [USER@]HOST, the private
	// key that logs in there, and the server's pinned host key (a
	// fingerprint "SHA256:…" or an authorized_keys line). Empty otherwise.
	SSHHost    string `json:"ssh_host"`
	SSHKey     string `json:"ssh_key"`
	SSHHostKey string `json:"ssh_host_key"`

	// Origins says where each key's value came from: "flag",
	// "env TENDER_MEMORY", "machine.yaml", "config.yaml" or "default".
	Origins map[string]string `json:"origins,omitempty"`

	// where locates each value for error messages ("config.yaml:3").
	where map[string]string
}

// Host is what the builtin defaults and some checks depend on.
type Host struct {
	OS   string // runtime.GOOS
	Arch string // runtime.GOARCH
	Home string // the user's home directory; may be empty
}

// CurrentHost describes the machine this runs on.
func CurrentHost() Host {
	home, _ := os.UserHomeDir()
	return Host{OS: runtime.GOOS, Arch: runtime.GOARCH, Home: home}
}

// FieldError is one problem with one field.
type FieldError struct {
	Where   string // "config.yaml:3", "env TENDER_MEMORY", "flag"; may be empty
	Field   string // "memory", "shares[1].guest"
	Problem string // `must be a size like "2GiB", got "lots"`
}

func (e *FieldError) Error() string {
	msg := fmt.Sprintf("field `%s` %s", e.Field, e.Problem)
	if e.Where != "" {
		return e.Where + ": " + msg
	}
	return msg
}
