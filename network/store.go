package network

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"gopkg.in/yaml.v3"

	"github.com/tenderdev/tender/atomicfile"
	"github.com/tenderdev/tender/config"
)

// File names under TENDER_HOME/networks/NAME. Like the machine directory's,
// they are part of the on-disk contract.
const (
	Dir              = "networks"     // TENDER_HOME/networks
	NetworkFile      = "network.yaml" // the subnet and the leases
	LockFile         = "lock"         // held while the network or its switch changes
	SwitchConfigFile = "switch.json"  // what the running switch serves
	SwitchPIDFile    = "switch.pid"
	SwitchLog        = "switch.log"
	// Domain is the DNS zone of the machines' names on every network:
	// n2 is also n2.tender.internal.
	Domain = "tender.internal"
	// MTU of the machines' NICs on a network.
	MTU = 1500
)

// The subnets given to networks that name none: 192.168.127.0/24 (the one
// Podman machine's gvproxy uses) and up. Docker's own pools (172.17–31/16
// for bridges, 10.0.0.0/8 for swarm overlays) and VirtualBox's host-only
// range (192.168.56.0/21) stay clear of them.
const (
	firstSubnetOctet = 127
	lastSubnetOctet  = 254
)

// ErrNotExist is returned for a network that has no directory.
var ErrNotExist = errors.New("network does not exist")

// Network is one network as stored.
type Network struct {
	Name    string    `yaml:"name"`
	Subnet  string    `yaml:"subnet"`  // "192.168.127.0/24"
	Gateway string    `yaml:"gateway"` // the switch's address, "192.168.127.1"
	Leases  []Lease   `yaml:"leases"`  // one per machine on the network, sorted by machine
	Created time.Time `yaml:"created"`
}

// Lease is one machine's place on a network: the MAC of its NIC there and
// the address the switch's DHCP always gives that MAC.
type Lease struct {
	Machine string `yaml:"machine"`
	MAC     string `yaml:"mac"`
	Address string `yaml:"address"`
}

// Lease returns machine's lease, or nil.
func (n *Network) Lease(machine string) *Lease {
	for i := range n.Leases {
		if n.Leases[i].Machine == machine {
			return &n.Leases[i]
		}
	}
	return nil
}

// Machines are the names of the machines on the network.
func (n *Network) Machines() []string {
	var out []string
	for _, l := range n.Leases {
		out = append(out, l.Machine)
	}
	return out
}

// Store is the networks under one TENDER_HOME.
type Store struct {
	Home string
}

// Dir is network name's directory.
func (s *Store) Dir(name string) string { return filepath.Join(s.Home, Dir, name) }

// ValidateName checks a network's name: the rules of a machine's.
func ValidateName(name string) error {
	if err := config.ValidateName(name); err != nil {
		return errors.New(strings.Replace(err.Error(), "invalid machine name", "invalid network name", 1))
	}
	return nil
}

// lock takes network name's lock, creating its directory; the unlock
// removes the directory again when it holds nothing but the lock (a
// failed Create leaves nothing behind).
func (s *Store) lock(ctx context.Context, name string) (unlock func(), err error) {
	dir := s.Dir(name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	fl := flock.New(filepath.Join(dir, LockFile))
	ok, err := fl.TryLockContext(ctx, 50*time.Millisecond)
	if err != nil || !ok {
		return nil, fmt.Errorf("waiting for the lock on network %q: %w", name, err)
	}
	return func() {
		if _, err := os.Stat(filepath.Join(dir, NetworkFile)); errors.Is(err, os.ErrNotExist) {
			os.RemoveAll(dir)
		}
		fl.Unlock()
	}, nil
}

// loadLocked takes network name's lock and loads it under the lock; the
// caller releases the lock with unlock.
func (s *Store) loadLocked(ctx context.Context, name string) (n *Network, unlock func(), err error) {
	if unlock, err = s.lock(ctx, name); err != nil {
		return nil, nil, err
	}
	if n, err = s.Load(name); err != nil {
		unlock()
		return nil, nil, err
	}
	return n, unlock, nil
}

// Load reads network name.
func (s *Store) Load(name string) (*Network, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(s.Dir(name), NetworkFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("network %q does not exist: create it with `tender network create %s` (or `tender init --network %s NAME`): %w", name, name, name, ErrNotExist)
	}
	if err != nil {
		return nil, err
	}
	var n Network
	if err := yaml.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("%s is damaged: %v", filepath.Join(s.Dir(name), NetworkFile), err)
	}
	if n.Name != name {
		return nil, fmt.Errorf("%s names network %q, not %q", filepath.Join(s.Dir(name), NetworkFile), n.Name, name)
	}
	return &n, nil
}

func (s *Store) save(n *Network) error {
	sort.Slice(n.Leases, func(i, j int) bool { return n.Leases[i].Machine < n.Leases[j].Machine })
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(s.Dir(n.Name), NetworkFile), b, 0o600)
}

// List returns every network, sorted by name. A network whose file does not
// read is returned with only its name, and its error joined into err.
func (s *Store) List() ([]*Network, error) {
	entries, err := os.ReadDir(filepath.Join(s.Home, Dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Network
	var errs []error
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(s.Dir(e.Name()), NetworkFile)); err != nil {
			continue // being created, or a leftover lock
		}
		n, err := s.Load(e.Name())
		if err != nil {
			errs = append(errs, err)
			n = &Network{Name: e.Name()}
		}
		out = append(out, n)
	}
	return out, errors.Join(errs...)
}

// Of returns the network machine is on and its lease there, or nil, nil.
func (s *Store) Of(machine string) (*Network, *Lease, error) {
	nets, err := s.List()
	for _, n := range nets {
		if l := n.Lease(machine); l != nil {
			return n, l, nil
		}
	}
	return nil, nil, err
}

// Create makes network name with subnet (a /16 to /29 IPv4 prefix; "" picks
// the next free 192.168.X.0/24). It refuses an existing network and a
// subnet another network has.
func (s *Store) Create(ctx context.Context, name, subnet string) (*Network, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	unlock, err := s.lock(ctx, name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(s.Dir(name), NetworkFile)); err == nil {
		return nil, fmt.Errorf("network %q already exists; nothing was changed (see it with `tender network ls`)", name)
	}
	return s.create(name, subnet)
}

// create is Create under the network's lock.
func (s *Store) create(name, subnet string) (*Network, error) {
	others, err := s.List()
	if err != nil {
		return nil, err
	}
	var prefix netip.Prefix
	if subnet == "" {
		if prefix, err = freeSubnet(others); err != nil {
			return nil, err
		}
	} else if prefix, err = ParseSubnet(subnet); err != nil {
		return nil, err
	}
	for _, o := range others {
		if op, err := netip.ParsePrefix(o.Subnet); err == nil && op.Overlaps(prefix) {
			return nil, fmt.Errorf("--subnet %s overlaps network %q's %s: choose another", prefix, o.Name, op)
		}
	}
	n := &Network{Name: name, Subnet: prefix.String(), Gateway: prefix.Addr().Next().String(), Created: time.Now().UTC().Truncate(time.Second)}
	if err := s.save(n); err != nil {
		return nil, err
	}
	return n, nil
}

// ParseSubnet checks a network's subnet: an IPv4 prefix from /16 to /29,
// given by its first address ("192.168.127.0/24").
func ParseSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() || p.Bits() < 16 || p.Bits() > 29 {
		return netip.Prefix{}, fmt.Errorf("--subnet must be an IPv4 prefix from /16 to /29 like 192.168.127.0/24, got %q", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("--subnet %s is not the first address of its prefix: use %s", s, p.Masked())
	}
	return p, nil
}

func freeSubnet(others []*Network) (netip.Prefix, error) {
	for o := firstSubnetOctet; o <= lastSubnetOctet; o++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(o), 0}), 24)
		free := true
		for _, n := range others {
			if np, err := netip.ParsePrefix(n.Subnet); err == nil && np.Overlaps(p) {
				free = false
			}
		}
		if free {
			return p, nil
		}
	}
	return netip.Prefix{}, errors.New("every subnet from 192.168.127.0/24 to 192.168.254.0/24 is taken: give one with --subnet")
}

// Remove deletes network name. It refuses while a machine is on it.
func (s *Store) Remove(ctx context.Context, name string) error {
	if _, err := s.Load(name); err != nil {
		return err
	}
	n, unlock, err := s.loadLocked(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	if len(n.Leases) > 0 {
		return fmt.Errorf("network %q is used by %s: delete those machines first (`tender delete NAME`)", name, strings.Join(n.Machines(), ", "))
	}
	s.stopSwitch(n)
	return os.RemoveAll(s.Dir(name))
}

// Join gives machine a lease on network name, creating the network when it
// does not exist (created says so). A machine that has one keeps it.
func (s *Store) Join(ctx context.Context, name, machine string) (n *Network, l Lease, created bool, err error) {
	if err := ValidateName(name); err != nil {
		return nil, Lease{}, false, err
	}
	if other, _, err := s.Of(machine); err == nil && other != nil && other.Name != name {
		return nil, Lease{}, false, fmt.Errorf("machine %q is already on network %q", machine, other.Name)
	}
	unlock, err := s.lock(ctx, name)
	if err != nil {
		return nil, Lease{}, false, err
	}
	defer unlock()
	n, err = s.Load(name)
	if errors.Is(err, ErrNotExist) {
		if n, err = s.create(name, ""); err != nil {
			return nil, Lease{}, false, err
		}
		created = true
	} else if err != nil {
		return nil, Lease{}, false, err
	}
	if have := n.Lease(machine); have != nil {
		return n, *have, created, nil
	}
	addr, err := freeAddress(n)
	if err != nil {
		return nil, Lease{}, false, err
	}
	mac, err := newMAC(n)
	if err != nil {
		return nil, Lease{}, false, err
	}
	l = Lease{Machine: machine, MAC: mac, Address: addr.String()}
	n.Leases = append(n.Leases, l)
	if err := s.save(n); err != nil {
		return nil, Lease{}, false, err
	}
	return n, l, created, nil
}

// Leave takes machine's lease off network name; a network it is not on is
// no error.
func (s *Store) Leave(ctx context.Context, name, machine string) error {
	if _, err := s.Load(name); err != nil {
		if errors.Is(err, ErrNotExist) {
			return nil
		}
		return err
	}
	n, unlock, err := s.loadLocked(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	i := slices.IndexFunc(n.Leases, func(l Lease) bool { return l.Machine == machine })
	if i < 0 {
		return nil
	}
	n.Leases = slices.Delete(n.Leases, i, i+1)
	return s.save(n)
}

// freeAddress is the lowest address of n's subnet that is neither the
// network, the gateway, the broadcast nor leased.
func freeAddress(n *Network) (netip.Addr, error) {
	p, err := netip.ParsePrefix(n.Subnet)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("network %q: subnet %q: %v", n.Name, n.Subnet, err)
	}
	taken := map[string]bool{n.Gateway: true}
	for _, l := range n.Leases {
		taken[l.Address] = true
	}
	for a := p.Addr().Next(); p.Contains(a); a = a.Next() {
		if next := a.Next(); !p.Contains(next) {
			break // the broadcast address
		}
		if !taken[a.String()] {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("network %q (%s) has no free address left", n.Name, n.Subnet)
}

// newMAC is a random 52:54:00:xx:xx:xx (QEMU's locally administered prefix)
// no lease on n has.
func newMAC(n *Network) (string, error) {
	for range 100 {
		var b [3]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		mac := fmt.Sprintf("52:54:00:%02x:%02x:%02x", b[0], b[1], b[2])
		if !slices.ContainsFunc(n.Leases, func(l Lease) bool { return l.MAC == mac }) {
			return mac, nil
		}
	}
	return "", errors.New("no free MAC address")
}
