package machine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/internal/testfakes"
)

func TestInitOnANetworkGivesALeaseThatDeleteTakesBack(t *testing.T) {
	ctx := context.Background()
	d := &testfakes.Driver{}
	s := newStore(t, d)
	m1, err := s.InitWith(ctx, "n1", small(t), InitOptions{Network: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	if m1.Network == nil || m1.Network.Name != "lab" || m1.Network.Address != "192.168.127.2" || m1.Network.VMSocket != filepath.Join(s.Dir("n1"), NetSocket) {
		t.Fatalf("n1's attachment: %+v", m1.Network)
	}
	m2, err := s.InitWith(ctx, "n2", small(t), InitOptions{Network: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	// Loaded again, the machine has the same place on the network, and
	// the driver gets it in the spec.
	again, err := s.Load("n2", config.Layer{})
	if err != nil {
		t.Fatal(err)
	}
	if *again.Network != *m2.Network || again.Spec().Network == nil || again.Spec().Network.MAC != m2.Network.MAC {
		t.Fatalf("loaded %+v, made %+v", again.Network, m2.Network)
	}
	info, err := s.Info(ctx, "n2", "test")
	if err != nil || len(info.Networks) != 1 || info.Networks[0] != (NetworkInfo{Name: "lab", Address: "192.168.127.3", MAC: m2.Network.MAC}) {
		t.Fatalf("info networks %+v (%v)", info.Networks, err)
	}
	plain, err := s.Init(ctx, "solo", small(t))
	if err != nil || plain.Network != nil {
		t.Fatalf("a machine on no network: %+v %v", plain.Network, err)
	}
	if info, _ := s.Info(ctx, "solo", "test"); info.Networks == nil || len(info.Networks) != 0 {
		t.Fatalf("solo's networks %#v, want []", info.Networks)
	}
	if err := s.Networks().Remove(ctx, "lab"); err == nil {
		t.Fatal("removed a network with machines on it")
	}
	if err := s.Delete(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	n, err := s.Networks().Load("lab")
	if err != nil || n.Lease("n1") != nil || n.Lease("n2") == nil {
		t.Fatalf("after deleting n1: %+v %v", n, err)
	}
}

func TestFailedInitOnANetworkLeavesNoLeaseNorNetwork(t *testing.T) {
	ctx := context.Background()
	d := &testfakes.Driver{CreateErr: errors.New("boom")}
	s := newStore(t, d)
	if _, err := s.InitWith(ctx, "n1", small(t), InitOptions{Network: "lab"}); err == nil {
		t.Fatal("init succeeded")
	}
	if _, err := os.Stat(s.Networks().Dir("lab")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the network init made for the failed machine is still there: %v", err)
	}
	// On an existing network, only the lease goes.
	if _, err := s.Networks().Create(ctx, "lab", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InitWith(ctx, "n1", small(t), InitOptions{Network: "lab"}); err == nil {
		t.Fatal("init succeeded")
	}
	n, err := s.Networks().Load("lab")
	if err != nil || len(n.Leases) != 0 {
		t.Fatalf("after a failed init: %+v %v", n, err)
	}
	if _, err := s.InitWith(ctx, "n1", small(t), InitOptions{Network: "bad name"}); err == nil || err.Error() != `--network: invalid network name "bad name": use 1 to 64 letters, digits, "-", "_" or ".", starting with a letter or digit, without ".." (like "default" or "dev-2")` {
		t.Fatalf("bad network name: %v", err)
	}
}
