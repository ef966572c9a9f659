package network

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJoinCreatesTheNetworkAndKeepsLeases(t *testing.T) {
	ctx := context.Background()
	s := &Store{Home: t.TempDir()}
	n, l1, created, err := s.Join(ctx, "lab", "n1")
	if err != nil || !created {
		t.Fatalf("Join n1: created=%v err=%v", created, err)
	}
	if n.Subnet != "192.168.127.0/24" || n.Gateway != "192.168.127.1" || l1.Address != "192.168.127.2" {
		t.Fatalf("first network/lease = %+v %+v", n, l1)
	}
	if !strings.HasPrefix(l1.MAC, "52:54:00:") || len(l1.MAC) != 17 {
		t.Fatalf("MAC %q", l1.MAC)
	}
	_, l2, created, err := s.Join(ctx, "lab", "n2")
	if err != nil || created || l2.Address != "192.168.127.3" || l2.MAC == l1.MAC {
		t.Fatalf("Join n2: %+v created=%v err=%v", l2, created, err)
	}
	// Joining again keeps the lease: the address survives down/up.
	_, again, _, err := s.Join(ctx, "lab", "n1")
	if err != nil || again != l1 {
		t.Fatalf("Join n1 again: %+v, want %+v (%v)", again, l1, err)
	}
	if _, _, _, err := s.Join(ctx, "other", "n1"); err == nil || !strings.Contains(err.Error(), `already on network "lab"`) {
		t.Fatalf("Join of a machine on another network: %v", err)
	}
	got, lease, err := s.Of("n2")
	if err != nil || got == nil || got.Name != "lab" || *lease != l2 {
		t.Fatalf("Of(n2) = %v %v %v", got, lease, err)
	}
	// A freed address is given again; the next network gets the next subnet.
	if err := s.Leave(ctx, "lab", "n1"); err != nil {
		t.Fatal(err)
	}
	_, l3, _, _ := s.Join(ctx, "lab", "n3")
	if l3.Address != "192.168.127.2" {
		t.Fatalf("n3 got %s, want the freed 192.168.127.2", l3.Address)
	}
	n2, err := s.Create(ctx, "lab2", "")
	if err != nil || n2.Subnet != "192.168.128.0/24" {
		t.Fatalf("second network: %+v %v", n2, err)
	}
	if st, err := os.Stat(s.Dir("lab")); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("network dir: %v %v", st, err)
	}
}

func TestCreateAndRemoveRefuse(t *testing.T) {
	ctx := context.Background()
	s := &Store{Home: t.TempDir()}
	if _, err := s.Create(ctx, "lab", "10.1.2.0/24"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, subnet, want string }{
		{"lab", "", `network "lab" already exists`},
		{"b", "10.1.0.0/16", `overlaps network "lab"`},
		{"c", "10.1.2.5/24", "is not the first address of its prefix: use 10.1.2.0/24"},
		{"d", "fd00::/64", "--subnet must be an IPv4 prefix"},
		{"e", "10.0.0.0/8", "--subnet must be an IPv4 prefix from /16 to /29"},
		{"f", "nonsense", "--subnet must be"},
		{"bad name", "", `invalid network name "bad name"`},
	} {
		_, err := s.Create(ctx, tc.name, tc.subnet)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Create(%q, %q) = %v, want %q", tc.name, tc.subnet, err, tc.want)
		}
	}
	// A refused Create leaves no directory behind.
	for _, name := range []string{"b", "c", "d", "e", "f"} {
		if _, err := os.Stat(s.Dir(name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("refused network %q left %s", name, s.Dir(name))
		}
	}
	if _, _, _, err := s.Join(ctx, "lab", "n1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, "lab"); err == nil || !strings.Contains(err.Error(), `network "lab" is used by n1`) {
		t.Fatalf("Remove of a used network: %v", err)
	}
	if err := s.Remove(ctx, "nosuch"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("Remove of a missing network: %v", err)
	}
	_ = s.Leave(ctx, "lab", "n1")
	if err := s.Remove(ctx, "lab"); err != nil {
		t.Fatal(err)
	}
	if nets, err := s.List(); err != nil || len(nets) != 0 {
		t.Fatalf("after Remove: %v %v", nets, err)
	}
}

func TestSmallSubnetRunsOut(t *testing.T) {
	ctx := context.Background()
	s := &Store{Home: t.TempDir()}
	if _, err := s.Create(ctx, "tiny", "10.9.0.0/29"); err != nil {
		t.Fatal(err)
	}
	// /29: .0 network, .1 gateway, .7 broadcast: .2–.6 for machines.
	for i, want := range []string{"10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"} {
		_, l, _, err := s.Join(ctx, "tiny", "m"+string(rune('a'+i)))
		if err != nil || l.Address != want {
			t.Fatalf("lease %d = %+v %v, want %s", i, l, err, want)
		}
	}
	if _, _, _, err := s.Join(ctx, "tiny", "mz"); err == nil || !strings.Contains(err.Error(), "no free address") {
		t.Fatalf("full network: %v", err)
	}
}

func TestAttachmentRefusesLongSocketPaths(t *testing.T) {
	s := &Store{Home: "/" + strings.Repeat("h", 90)}
	n := &Network{Name: "lab", Subnet: "192.168.127.0/24", Leases: []Lease{{Machine: "n1", MAC: "52:54:00:00:00:01", Address: "192.168.127.2"}}}
	if _, err := s.Attachment(n, "n1", filepath.Join(s.Home, "machines/n1/net.sock")); err == nil || !strings.Contains(err.Error(), "use a shorter TENDER_HOME") {
		t.Fatalf("long path: %v", err)
	}
	if _, err := s.Attachment(n, "n9", "/x"); err == nil {
		t.Fatal("a machine without a lease got an attachment")
	}
}
