//go:build linux

package guest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tenderdev/tender/agent/dhcp"
	"github.com/tenderdev/tender/agent/dnsconf"
	"github.com/vishvananda/netlink"
)

// nics lists the network interfaces backed by a device (not lo, bridges or
// veths) in the order of their devices on the bus (PCI slot, then virtio
// number), which is the order the VM's NICs were given in: the NAT NIC the
// host reaches the machine through first, whichever driver names it ethN
// (on VirtualBox the e1000 NAT NIC is probed after a virtio one).
func nics(sysNet string) []string {
	entries, _ := os.ReadDir(sysNet)
	type nic struct{ name, device string }
	var found []nic
	for _, e := range entries {
		dev, err := filepath.EvalSymlinks(filepath.Join(sysNet, e.Name(), "device"))
		if err == nil {
			found = append(found, nic{e.Name(), dev})
		}
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].device != found[j].device {
			return found[i].device < found[j].device
		}
		return found[i].name < found[j].name
	})
	out := make([]string, len(found))
	for i, n := range found {
		out[i] = n.name
	}
	return out
}

// network brings lo up and, on every NIC, waits for carrier, then leases an
// address by DHCP and keeps renewing it until ctx ends. The first NIC is the
// primary one: its router is the default route, and the returned channel is
// closed at its first lease. The others (a tender network's private NIC)
// get their address and name servers only, so that traffic off the host
// never goes through them and a machine is ready without them. A NIC
// without carrier holds nothing up: it is configured whenever its link
// comes.
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
	a.resolv = &resolvState{order: names}
	for i, name := range names {
		go func() {
			if err := a.configureNIC(ctx, name, i == 0); err != nil {
				a.log.Printf("%v", err)
				return
			}
			if i == 0 {
				close(up)
			}
		}()
	}
	return up
}

// configureNIC sets name up, waits for carrier, leases an address and
// starts renewing it.
func (a *agent) configureNIC(ctx context.Context, name string, primary bool) error {
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
		if !primary {
			lease.Router = nil // the default route is the primary NIC's
		}
		if err := a.applyLease(link, name, lease); err != nil {
			return fmt.Errorf("network %s: %w", name, err)
		}
		a.log.Logf("network %s: %s/%d gw %v dns %v search %v lease %s", name, lease.Addr, maskBits(lease.Mask), lease.Router, lease.DNS, lease.Search, lease.Duration)
		go a.renew(ctx, link, name, primary, lease)
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

// resolvState is what each NIC's lease says about names, for
// /etc/resolv.conf.
type resolvState struct {
	mu     sync.Mutex
	order  []string // the NICs, primary first
	leases map[string]dhcp.Lease
}

// set records name's lease and hands resolv.conf, as all leases make it, to
// write, under the lock, so that the last lease's file is the one written.
func (r *resolvState) set(name string, l dhcp.Lease, write func(conf string) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.leases == nil {
		r.leases = map[string]dhcp.Lease{}
	}
	r.leases[name] = l
	var ordered []dhcp.Lease
	// The private networks' servers come first: they know the names of the
	// machines on their network (and look the rest up on the host), while
	// the primary NIC's server would answer that they do not exist.
	for _, n := range append(append([]string(nil), r.order[1:]...), r.order[0]) {
		if l, ok := r.leases[n]; ok {
			ordered = append(ordered, l)
		}
	}
	return write(renderResolvConf(ordered))
}

func (a *agent) applyLease(link netlink.Link, name string, l dhcp.Lease) error {
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: l.Addr, Mask: l.Mask}}
	if err := netlink.AddrReplace(link, addr); err != nil {
		return fmt.Errorf("setting address %s: %w", addr.IPNet, err)
	}
	if l.Router != nil {
		route := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: l.Router, Priority: 100}
		if err := netlink.RouteReplace(route); err != nil {
			return fmt.Errorf("setting default route via %s: %w", l.Router, err)
		}
	}
	return a.resolv.set(name, l, func(conf string) error {
		if len(l.DNS) == 0 || dnsconf.Overridden() { // the `dns` setting wins
			return nil
		}
		_ = os.Remove("/etc/resolv.conf") // it may be a symlink into /run
		if err := os.WriteFile("/etc/resolv.conf", []byte(conf), 0o644); err != nil {
			return fmt.Errorf("writing /etc/resolv.conf: %w", err)
		}
		return nil
	})
}

// renew re-leases before the lease runs out.
func (a *agent) renew(ctx context.Context, link netlink.Link, name string, primary bool, l dhcp.Lease) {
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
		if !primary {
			nl.Router = nil
		}
		if err := a.applyLease(link, name, nl); err != nil {
			a.log.Printf("network %s: %v", name, err)
		}
		l = nl
	}
}

// renderResolvConf writes the leases' search domains and name servers, in
// the leases' order, each once. resolv.conf takes three name servers and
// six search domains; the rest are left out.
func renderResolvConf(leases []dhcp.Lease) string {
	var search, servers []string
	add := func(list []string, v string) []string {
		if v == "" || slices.Contains(list, v) {
			return list
		}
		return append(list, v)
	}
	for _, l := range leases {
		for _, d := range l.Search {
			search = add(search, d)
		}
		search = add(search, l.Domain)
		for _, ip := range l.DNS {
			servers = add(servers, ip.String())
		}
	}
	var b strings.Builder
	b.WriteString("# written by tender-agent from DHCP\n")
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search[:min(len(search), 6)], " "))
	}
	for _, ip := range servers[:min(len(servers), 3)] {
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
