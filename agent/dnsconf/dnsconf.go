//go:build linux

// Package dnsconf lets the host override the name servers DHCP gave the
// guest (the `dns` setting). The override lives in /run, so every boot starts
// from DHCP's servers (the hypervisor's NAT resolver, which follows the
// host's network) until the host agent applies the setting again.
package dnsconf

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// Paths; variables so tests can point them elsewhere.
var (
	OverrideFile = "/run/tender/dns"
	ResolvConf   = "/etc/resolv.conf"
)

// Overridden reports whether the host set the name servers; the DHCP client
// then leaves resolv.conf alone.
func Overridden() bool {
	_, err := os.Stat(OverrideFile)
	return err == nil
}

// Render is resolv.conf for servers.
func Render(servers []string) string {
	var b strings.Builder
	b.WriteString("# written by tender-agent from the `dns` setting\n")
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	return b.String()
}

// Parse checks the servers are IP addresses.
func Parse(args []string) ([]string, error) {
	if len(args) == 0 {
		return nil, errors.New("set-dns needs at least one IP address")
	}
	var out []string
	for _, a := range args {
		ip := net.ParseIP(a)
		if ip == nil {
			return nil, fmt.Errorf("name server %q is not an IP address", a)
		}
		out = append(out, ip.String())
	}
	return out, nil
}

// Set writes the override and resolv.conf.
func Set(servers []string) error {
	if err := os.MkdirAll(filepath.Dir(OverrideFile), 0o755); err != nil {
		return err
	}
	data := []byte(Render(servers))
	if err := os.WriteFile(OverrideFile, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", OverrideFile, err)
	}
	_ = os.Remove(ResolvConf) // it may be a symlink into /run
	if err := os.WriteFile(ResolvConf, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", ResolvConf, err)
	}
	return nil
}
