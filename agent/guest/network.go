//go:build linux

package guest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tenderdev/tender/agent/dhcp"
	"github.com/tenderdev/tender/agent/dnsconf"
	"github.com/vishvananda/netlink"
)

// nics lists the network interfaces backed by a device (not lo, bridges or
// veths), sorted by name.
func nics(sysNet string) []string {
	entries, _ := os.ReadDir(sysNet)
	var out []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(sysNet, e.Name(), "device")); err == nil {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// network brings lo up and, on every NIC, waits for carrier, then leases an
// address by DHCP and keeps renewing it until ctx ends. A NIC without
// carrier holds nothing up: it is configured whenever its link comes. The
// returned channel is closed at the first lease.
func (a *agent) network(ctx context.Context) <-chan struct{} {
	up := make(chan struct{})
	if lo, err := netlink.LinkByName("lo"); err == nil {
		if err := netlink.LinkSetUp(lo); err != nil {
			a.log.Printf("setting lo up: %v", err)
		}
	}
	names := nics("/sys/class/net")
	if len(names) == 0 {
		a.log.Printf("network: no network interface found")
		return up
	}
	var once sync.Once
	for _, name := range names {
		go func() {
			if err := a.configureNIC(ctx, name); err != nil {
				a.log.Printf("%v", err)
				return
			}
			once.Do(func() { close(up) })
		}()
	}
	return up
}

// configureNIC sets name up, waits for carrier, leases an address and
// starts renewing it.
func (a *agent) configureNIC(ctx context.Context, name string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("network %s: %w", name, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("network %s: setting up: %w", name, err)
	}
	if !waitCarrier(ctx, name, time.Second) {
		a.log.Logf("network %s: no carrier yet; configuring it when the link comes up", name)
		if !waitCarrier(ctx, name, 0) {
			return nil
		}
	}
	a.log.Logf("network %s: carrier", name)
	for {
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		lease, err := dhcp.Acquire(lctx, name, "", a.log.Logf)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			a.log.Printf("%v (retrying)", err)
			continue
		}
		if err := a.applyLease(link, lease); err != nil {
			return fmt.Errorf("network %s: %w", name, err)
		}
		a.log.Logf("network %s: %s/%d gw %v dns %v lease %s", name, lease.Addr, maskBits(lease.Mask), lease.Router, lease.DNS, lease.Duration)
		go a.renew(ctx, link, name, lease)
		return nil
	}
}

func maskBits(m net.IPMask) int { n, _ := m.Size(); return n }

// waitCarrier polls the link state; timeout 0 waits until ctx ends. It
// waits for the operational state too: until the kernel's linkwatch has
// seen the carrier, the NIC's queue drops what is sent (measured: the first
// DHCP packets were lost and the lease came ~1.5 s late).
func waitCarrier(ctx context.Context, name string, timeout time.Duration) bool {
	start := time.Now()
	for {
		if linkUp(name) {
			return true
		}
		if timeout > 0 && time.Since(start) > timeout {
			return false
		}
		pause := 20 * time.Millisecond
		if time.Since(start) > 10*time.Second {
			pause = time.Second
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(pause):
		}
	}
}

var resolvMu sync.Mutex

func (a *agent) applyLease(link netlink.Link, l dhcp.Lease) error {
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: l.Addr, Mask: l.Mask}}
	if err := netlink.AddrReplace(link, addr); err != nil {
		return fmt.Errorf("setting address %s: %w", addr.IPNet, err)
	}
	if l.Router != nil {
		// One metric per interface, so that two NICs with a router do not
		// fight over the same default route.
		route := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: l.Router, Priority: 100 + link.Attrs().Index}
		if err := netlink.RouteReplace(route); err != nil {
			return fmt.Errorf("setting default route via %s: %w", l.Router, err)
		}
	}
	if len(l.DNS) > 0 && !dnsconf.Overridden() { // the `dns` setting wins
		resolvMu.Lock()
		defer resolvMu.Unlock()
		_ = os.Remove("/etc/resolv.conf") // it may be a symlink into /run
		if err := os.WriteFile("/etc/resolv.conf", []byte(renderResolvConf(l.DNS, l.Domain)), 0o644); err != nil {
			return fmt.Errorf("writing /etc/resolv.conf: %w", err)
		}
	}
	return nil
}

// renew re-leases before the lease runs out.
func (a *agent) renew(ctx context.Context, link netlink.Link, name string, l dhcp.Lease) {
	for l.Duration > 0 {
		wait := l.Renew
		if wait <= 0 || wait > l.Duration {
			wait = l.Duration / 2
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		lctx, cancel := context.WithTimeout(ctx, time.Minute)
		nl, err := dhcp.Acquire(lctx, name, "", a.log.Logf)
		cancel()
		if err != nil {
			a.log.Logf("network %s: renewing: %v", name, err)
			l.Renew = time.Minute
			continue
		}
		if err := a.applyLease(link, nl); err != nil {
			a.log.Printf("network %s: %v", name, err)
		}
		l = nl
	}
}

func renderResolvConf(dns []net.IP, domain string) string {
	var b strings.Builder
	b.WriteString("# written by tender-agent from DHCP\n")
	if domain != "" {
		fmt.Fprintf(&b, "search %s\n", domain)
	}
	for _, ip := range dns {
		fmt.Fprintf(&b, "nameserver %s\n", ip)
	}
	return b.String()
}

func linkUp(name string) bool {
	carrier, err := os.ReadFile(filepath.Join("/sys/class/net", name, "carrier"))
	if err != nil || strings.TrimSpace(string(carrier)) != "1" {
		return false
	}
	oper, err := os.ReadFile(filepath.Join("/sys/class/net", name, "operstate"))
	state := strings.TrimSpace(string(oper))
	return err == nil && (state == "up" || state == "unknown")
}
