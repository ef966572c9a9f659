package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/tenderdev/tender/vm"
)

// Resolve combines sources given highest precedence first (flags, env,
// machine.yaml, config.yaml) over the builtin defaults for this host, and
// validates the result. It is ResolveFor(CurrentHost(), sources...).
func Resolve(sources ...Source) (Settings, error) {
	return ResolveFor(CurrentHost(), sources...)
}

// ResolveFor is Resolve for a given host: Merge, then FillDefaults, then
// Validate. The Settings are returned even when they are invalid, so that
// `tender config` can show them.
func ResolveFor(h Host, sources ...Source) (Settings, error) {
	s := FillDefaults(Merge(sources...), h)
	return s, Validate(s, h)
}

// Merge takes each key from the first source that sets it. The result
// remembers, per key, the source's name (or the environment variable) as the
// origin and where the value was read, for Settings.Origins and messages.
func Merge(sources ...Source) Layer {
	var out Layer
	for _, key := range keys {
		for _, src := range sources {
			l := src.Layer
			if !l.IsSet(key) {
				continue
			}
			out.copyKey(key, l)
			m, ok := l.marks[key]
			if !ok {
				m = mark{where: src.Name}
			}
			if m.origin == "" {
				m.origin = src.Name
			}
			out.mark(key, m)
			for k, sub := range l.marks { // shares[0], shares[0].guest, dns[1]
				if strings.HasPrefix(k, key+"[") {
					out.mark(k, sub)
				}
			}
			break
		}
	}
	return out
}

func (l *Layer) copyKey(key string, from Layer) {
	switch key {
	case KeyDriver:
		l.Driver = from.Driver
	case KeyCPUs:
		l.CPUs = from.CPUs
	case KeyMemory:
		l.MemoryMiB = from.MemoryMiB
	case KeyDiskSize:
		l.DiskSizeMiB = from.DiskSizeMiB
	case KeyISO:
		l.ISO = from.ISO
	case KeyISOURL:
		l.ISOURL = from.ISOURL
	case KeySSHPort:
		l.SSHPort = from.SSHPort
	case KeyDockerPort:
		l.DockerPort = from.DockerPort
	case KeyShares:
		l.Shares = from.Shares
	case KeyShareType:
		l.ShareType = from.ShareType
	case KeyDownAction:
		l.DownAction = from.DownAction
	case KeyDNS:
		l.DNS = from.DNS
	case KeyArch:
		l.Arch = from.Arch
	case KeyAccel:
		l.Accel = from.Accel
	case KeyVBoxManage:
		l.VBoxManage = from.VBoxManage
	case KeyBootTimeout:
		l.BootTimeout = from.BootTimeout
	case KeySSHHost:
		l.SSHHost = from.SSHHost
	case KeySSHKey:
		l.SSHKey = from.SSHKey
	case KeySSHHostKey:
		l.SSHHostKey = from.SSHHostKey
	}
}

// Defaults returns the builtin settings for host h, every origin "default".
func Defaults(h Host) Settings { return FillDefaults(Layer{}, h) }

// DefaultShares is what is shared when no layer sets shares: the directory
// holding the users' homes on macOS (/Users) and Windows (C:\Users, mounted
// at /c/Users), and the home directory on Linux and others, each at the same
// path in the guest.
func DefaultShares(h Host) []Share {
	switch {
	case h.OS == "darwin":
		return []Share{{Host: "/Users", Guest: "/Users"}}
	case h.OS == "windows":
		return []Share{{Host: `C:\Users`, Guest: "/c/Users"}}
	case strings.HasPrefix(h.Home, "/"):
		return []Share{{Host: h.Home, Guest: h.Home}}
	}
	return []Share{}
}

// FillDefaults turns a merged layer into Settings: every key the layer leaves
// unset gets its builtin default (origin "default"), "~" at the start of a
// host path becomes the home directory, a share without a guest path gets
// GuestPath of its host path, and x86_64/aarch64 read as amd64/arm64.
func FillDefaults(l Layer, h Host) Settings {
	s := Settings{
		Driver:      "auto",
		CPUs:        defaultCPUs,
		MemoryMiB:   defaultMemoryMiB,
		DiskSizeMiB: defaultDiskMiB,
		ISOURL:      DefaultISOURL,
		Shares:      DefaultShares(h),
		ShareType:   "auto",
		DNS:         []string{},
		Arch:        h.Arch,
		Accel:       "auto",
		BootTimeout: defaultTimeout,
		DownAction:  DownShutdown,
		Origins:     map[string]string{},
		where:       map[string]string{},
	}
	set := func(p *string, v *string) {
		if v != nil {
			*p = *v
		}
	}
	setInt := func(p *int, v *int) {
		if v != nil {
			*p = *v
		}
	}
	set(&s.Driver, l.Driver)
	setInt(&s.CPUs, l.CPUs)
	setInt(&s.MemoryMiB, l.MemoryMiB)
	setInt(&s.DiskSizeMiB, l.DiskSizeMiB)
	set(&s.ISO, l.ISO)
	set(&s.ISOURL, l.ISOURL)
	setInt(&s.SSHPort, l.SSHPort)
	setInt(&s.DockerPort, l.DockerPort)
	if l.Shares != nil {
		s.Shares = append([]Share{}, *l.Shares...)
	}
	if l.DNS != nil {
		s.DNS = append([]string{}, *l.DNS...)
	}
	set(&s.Arch, l.Arch)
	set(&s.Accel, l.Accel)
	set(&s.ShareType, l.ShareType)
	set(&s.DownAction, l.DownAction)
	set(&s.VBoxManage, l.VBoxManage)
	set(&s.SSHHost, l.SSHHost)
	set(&s.SSHKey, l.SSHKey)
	set(&s.SSHHostKey, l.SSHHostKey)
	if l.BootTimeout != nil {
		s.BootTimeout = *l.BootTimeout
	}

	s.ISO = expandHome(s.ISO, h)
	s.VBoxManage = expandHome(s.VBoxManage, h)
	s.SSHKey = expandHome(s.SSHKey, h)
	if s.Driver == DriverSSH && l.SSHPort == nil {
		s.SSHPort = DefaultServerSSHPort
	}
	for i := range s.Shares {
		s.Shares[i].Host = expandHome(s.Shares[i].Host, h)
		if s.Shares[i].Guest == "" {
			s.Shares[i].Guest = GuestPath(s.Shares[i].Host)
		}
	}
	s.Arch, _ = vm.CanonicalArch(s.Arch) // an unknown one is left for Validate
	if l.ISOURL == nil && s.Arch == "arm64" {
		s.ISOURL = DefaultISOURLArm64
	}

	for _, key := range keys {
		m, ok := l.marks[key]
		if !l.IsSet(key) {
			s.Origins[key] = OriginDefault
			continue
		}
		s.Origins[key] = m.origin
		if m.origin == "" { // a layer not from Merge: name the file
			file := m.where
			if i := strings.LastIndex(file, ":"); i >= 0 {
				file = file[:i]
			}
			s.Origins[key] = file
		}
		if ok {
			s.where[key] = m.where
		}
	}
	for k, m := range l.marks {
		if strings.Contains(k, "[") {
			s.where[k] = m.where
		}
	}
	return s
}

// expandHome replaces a leading "~" (alone or before a separator) with the
// home directory.
func expandHome(p string, h Host) string {
	if h.Home == "" || p == "" || p[0] != '~' {
		return p
	}
	if p == "~" {
		return h.Home
	}
	if p[1] == '/' || (h.OS == "windows" && p[1] == '\\') {
		return strings.TrimRight(h.Home, `/\`) + p[1:]
	}
	return p
}

// GuestPath is where a host directory is mounted in the guest by default:
// the same path, except that a Windows path C:\Users\me becomes /c/Users/me,
// as boot2docker did.
func GuestPath(host string) string {
	if isDrivePath(host) {
		rest := strings.ReplaceAll(host[2:], `\`, "/")
		if !strings.HasPrefix(rest, "/") {
			rest = "/" + rest
		}
		return "/" + strings.ToLower(host[:1]) + strings.TrimRight(rest, "/")
	}
	return host
}

// Validate checks every value of s and reports every problem (errors.Join),
// each a *FieldError naming where the value came from, the field and the fix.
func Validate(s Settings, h Host) error {
	v := validator{s: s}
	v.oneOf(KeyDriver, s.Driver, Drivers)
	v.between(KeyCPUs, s.CPUs, 1, MaxCPUs)
	v.size(KeyMemory, s.MemoryMiB, MinMemoryMiB, MaxMemoryMiB)
	v.size(KeyDiskSize, s.DiskSizeMiB, MinDiskSizeMiB, MaxDiskSizeMiB)
	v.url(KeyISOURL, s.ISOURL)
	v.port(KeySSHPort, s.SSHPort)
	v.port(KeyDockerPort, s.DockerPort)
	if s.SSHPort != 0 && s.SSHPort == s.DockerPort {
		v.fail(KeyDockerPort, fmt.Sprintf("must differ from ssh_port (or be 0 to pick a free port), got %d for both", s.DockerPort))
	}
	v.shares(s.Shares, h)
	v.oneOf(KeyShareType, s.ShareType, ShareTypes)
	v.oneOf(KeyDownAction, s.DownAction, DownActions)
	for i, ip := range s.DNS {
		if _, err := netip.ParseAddr(ip); err != nil {
			v.fail(fmt.Sprintf("%s[%d]", KeyDNS, i), fmt.Sprintf("must be an IP address like \"1.1.1.1\", got %q", ip))
		}
	}
	v.oneOf(KeyArch, s.Arch, Arches)
	v.accel(s, h)
	if s.Driver == "virtualbox" && contains(Arches, s.Arch) && h.Arch != "" && s.Arch != h.Arch {
		v.fail(KeyArch, fmt.Sprintf("must be %s, the host's, with the virtualbox driver (use driver qemu to emulate %s), got %q", h.Arch, s.Arch, s.Arch))
	}
	v.server(s)
	if s.BootTimeout < MinBootTimeout {
		v.fail(KeyBootTimeout, fmt.Sprintf("must be at least %s, got %s", formatDuration(MinBootTimeout), formatDuration(s.BootTimeout)))
	} else if s.BootTimeout > MaxBootTimeout {
		v.fail(KeyBootTimeout, fmt.Sprintf("must be at most %s, got %s", formatDuration(MaxBootTimeout), formatDuration(s.BootTimeout)))
	}
	return v.err()
}

type validator struct {
	s    Settings
	errs []error
}

func (v *validator) err() error { return errors.Join(v.errs...) }

// fail records a problem with field, located at the most precise place
// known: "shares[1].guest", else "shares[1]", else "shares".
func (v *validator) fail(field, problem string) {
	where := ""
	for f := field; f != ""; {
		if w, ok := v.s.where[f]; ok {
			where = w
			break
		}
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			break
		}
		f = f[:i]
	}
	v.errs = append(v.errs, &FieldError{Where: where, Field: field, Problem: problem})
}

func (v *validator) oneOf(field, got string, allowed []string) {
	if !contains(allowed, got) {
		v.fail(field, fmt.Sprintf("must be one of %s, got %q", strings.Join(allowed, ", "), got))
	}
}

func (v *validator) between(field string, got, lo, hi int) {
	if got < lo || got > hi {
		v.fail(field, fmt.Sprintf("must be between %d and %d, got %d", lo, hi, got))
	}
}

func (v *validator) size(field string, got, lo, hi int) {
	switch {
	case got < lo:
		v.fail(field, fmt.Sprintf("must be at least %s, got %s", FormatSize(lo), FormatSize(got)))
	case got > hi:
		v.fail(field, fmt.Sprintf("must be at most %s, got %s", FormatSize(hi), FormatSize(got)))
	}
}

// server checks the keys of the ssh driver: a server to reach and a key to
// log in with; other drivers must not be given them.
func (v *validator) server(s Settings) {
	if s.Driver != DriverSSH {
		for _, k := range []struct{ key, got string }{{KeySSHHost, s.SSHHost}, {KeySSHKey, s.SSHKey}, {KeySSHHostKey, s.SSHHostKey}} {
			if k.got != "" {
				v.fail(k.key, fmt.Sprintf("is for driver ssh only (a server reached over SSH), but driver is %q: add --driver ssh, or leave %s out", s.Driver, k.key))
			}
		}
		return
	}
	if s.SSHHost == "" {
		v.fail(KeySSHHost, `must name the server with driver ssh, like "alice@build.example.com" (--ssh-host)`)
	} else if err := CheckServer(s.SSHHost); err != nil {
		v.fail(KeySSHHost, err.Error())
	}
	if s.SSHKey == "" {
		v.fail(KeySSHKey, `must be the private key that logs in to the server with driver ssh, like "~/.ssh/id_ed25519" (--ssh-key)`)
	}
	if s.SSHPort == 0 {
		v.fail(KeySSHPort, "must be the server's SSH port (1-65535) with driver ssh, got 0")
	}
}

// CheckServer accepts an ssh_host: [USER@]HOST, HOST a name or an address
// (an IPv6 one may be in brackets), without a port (that is ssh_port).
func CheckServer(server string) error {
	user, host := SplitServer(server)
	switch {
	case strings.ContainsAny(server, " \t\n\"'`$;|&<>()"):
		return fmt.Errorf("must be [USER@]HOST like \"alice@build.example.com\", without spaces or quotes, got %q", server)
	case strings.Contains(server, "@") && user == "":
		return fmt.Errorf("must be [USER@]HOST like \"alice@build.example.com\": the user before @ is empty, got %q", server)
	case host == "":
		return fmt.Errorf("must be [USER@]HOST like \"alice@build.example.com\": the host is empty, got %q", server)
	case strings.Count(host, ":") == 1 && !strings.HasPrefix(host, "["):
		return fmt.Errorf("must be [USER@]HOST without a port (give the port as ssh_port, --ssh-port), got %q", server)
	}
	return nil
}

// SplitServer splits an ssh_host into its user ("" when none) and host;
// brackets around an IPv6 address are dropped.
func SplitServer(server string) (user, host string) {
	if i := strings.LastIndex(server, "@"); i >= 0 {
		user, host = server[:i], server[i+1:]
	} else {
		host = server
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	return user, host
}

func (v *validator) port(field string, got int) {
	if got < 0 || got > 65535 {
		v.fail(field, fmt.Sprintf("must be between 1 and 65535, or 0 to pick a free port, got %d", got))
	}
}

func (v *validator) url(field, got string) {
	u, err := url.Parse(got)
	ok := err == nil && ((u.Scheme == "http" || u.Scheme == "https") && u.Host != "" ||
		u.Scheme == "file" && u.Path != "")
	if !ok {
		v.fail(field, fmt.Sprintf("must be an http, https or file URL like %q, got %q", DefaultISOURL, got))
	}
}

// accelOS says where accelerator accel exists; ok is false for one that
// exists everywhere (tcg, auto).
func accelOS(accel string) (os string, ok bool) {
	switch accel {
	case "kvm":
		return "linux", true
	case "hvf":
		return "darwin", true
	case "whpx":
		return "windows", true
	}
	return "", false
}

func (v *validator) accel(s Settings, h Host) {
	if !contains(Accels, s.Accel) {
		v.oneOf(KeyAccel, s.Accel, Accels)
		return
	}
	if os, ok := accelOS(s.Accel); ok && h.OS != "" && os != h.OS {
		var usable []string
		for _, a := range Accels {
			if o, ok := accelOS(a); !ok || o == h.OS {
				usable = append(usable, a)
			}
		}
		v.fail(KeyAccel, fmt.Sprintf("must be one of %s on %s (%s is only on %s), got %q",
			strings.Join(usable, ", "), h.OS, s.Accel, os, s.Accel))
		return
	}
	if _, hw := accelOS(s.Accel); hw && contains(Arches, s.Arch) && h.Arch != "" && s.Arch != h.Arch {
		v.fail(KeyAccel, fmt.Sprintf("must be tcg or auto to run an %s guest on an %s host, got %q", s.Arch, h.Arch, s.Accel))
	}
}

func (v *validator) shares(shares []Share, h Host) {
	guests := map[string]int{}
	for i, sh := range shares {
		field := fmt.Sprintf("%s[%d]", KeyShares, i)
		if !isAbsHost(sh.Host, h.OS) {
			v.fail(field+".host", fmt.Sprintf("must be an absolute path on the host, like %q, got %q", DefaultShares(Host{OS: h.OS, Home: "/home/you"})[0].Host, sh.Host))
			if sh.Guest == sh.Host {
				continue // one mistake, one message: the guest path was derived from it
			}
		}
		switch {
		case !strings.HasPrefix(sh.Guest, "/"):
			v.fail(field+".guest", fmt.Sprintf("must be an absolute path in the guest, like \"/Users\", got %q", sh.Guest))
		case strings.Trim(sh.Guest, "/") == "":
			v.fail(field+".guest", "must not be the guest's root directory, got \"/\"")
		default:
			g := strings.TrimRight(sh.Guest, "/")
			if j, dup := guests[g]; dup {
				v.fail(field+".guest", fmt.Sprintf("must differ from shares[%d].guest %q, got %q", j, shares[j].Guest, sh.Guest))
				continue
			}
			guests[g] = i
		}
	}
}

// isAbsHost reports whether p is an absolute path on a host running goos.
func isAbsHost(p, goos string) bool {
	if goos == "windows" {
		return isDrivePath(p) && len(p) > 2 && (p[2] == '\\' || p[2] == '/') ||
			strings.HasPrefix(p, `\\`)
	}
	return strings.HasPrefix(p, "/")
}

// Only returns a layer setting what l sets of keys, no more, with where
// each value was given.
func (l Layer) Only(keys ...string) Layer {
	var out Layer
	for _, key := range keys {
		if l.IsSet(key) {
			out.copyKey(key, l)
			if m, ok := l.marks[key]; ok {
				out.mark(key, m)
			}
		}
	}
	return out
}

// Without returns a layer setting what l sets but keys.
func (l Layer) Without(keys ...string) Layer {
	var rest []string
	for _, key := range Keys() {
		if !slices.Contains(keys, key) {
			rest = append(rest, key)
		}
	}
	return l.Only(rest...)
}

// Empty reports whether l sets no key.
func (l Layer) Empty() bool {
	for _, key := range keys {
		if l.IsSet(key) {
			return false
		}
	}
	return true
}
