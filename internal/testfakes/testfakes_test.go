package testfakes_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tenderdev/tender/internal/testfakes"
	"github.com/tenderdev/tender/iso"
	"github.com/tenderdev/tender/vm"
)

// The fake image is one iso.Open reads as a tender image of its version,
// with "CD001" where the drivers look for it.
func TestISOIsATenderImage(t *testing.T) {
	path := testfakes.TempISO(t, "tender-v1.2.3")
	if filepath.Base(path) != "tender.iso" {
		t.Errorf("TempISO wrote %s, want a tender.iso", path)
	}
	im, err := iso.Open(path)
	if err != nil || im.VolumeID != "tender-v1.2.3" || im.Version() != "1.2.3" {
		t.Fatalf("iso.Open = %+v, %v; want volume ID tender-v1.2.3, version 1.2.3", im, err)
	}
	img := testfakes.ISO("tender-v1.2.3")
	if len(img) != testfakes.ISOSize || string(img[32769:32774]) != "CD001" {
		t.Errorf("ISO: %d bytes, %q at 32769; want %d bytes and CD001", len(img), img[32769:32774], testfakes.ISOSize)
	}
	if got, want := string(img[0x8000+40:0x8000+72]), "tender-v1.2.3"+strings.Repeat(" ", 19); got != want {
		t.Errorf("volume ID field %q, want %q", got, want)
	}
	long := testfakes.ISO(strings.Repeat("x", 40))
	if got := string(long[0x8000+40 : 0x8000+73]); got != strings.Repeat("x", 32)+"\x00" {
		t.Errorf("a long volume ID spilled out of its 32 bytes: %q", got)
	}
}

// StampISO leaves the bytes around the descriptor alone, so a test can stamp
// an image full of content.
func TestStampISOKeepsTheRest(t *testing.T) {
	img := make([]byte, 3*testfakes.ISOSize)
	for i := range img {
		img[i] = 0xAA
	}
	testfakes.StampISO(img, "tender-v0.1.0")
	if img[0x8000-1] != 0xAA || img[testfakes.ISOSize] != 0xAA || img[len(img)-1] != 0xAA {
		t.Error("StampISO wrote outside the volume descriptor")
	}
}

// Driver is exactly a vm.Driver: code that looks for an optional ability
// finds none.
func TestDriverHasNoOptionalAbilities(t *testing.T) {
	var d vm.Driver = &testfakes.Driver{}
	for name, ok := range map[string]bool{
		"Resetter":    is[vm.Resetter](d),
		"Saver":       is[vm.Saver](d),
		"Forwarder":   is[vm.Forwarder](d),
		"ShareTyper":  is[vm.ShareTyper](d),
		"Preflighter": is[vm.Preflighter](d),
		"DiskCreator": is[vm.DiskCreator](d),
		"StartWarner": is[vm.StartWarner](d),
	} {
		if ok {
			t.Errorf("testfakes.Driver claims vm.%s", name)
		}
	}
}

func is[T any](d vm.Driver) bool { _, ok := d.(T); return ok }

func TestDriverRecordsCallsAndState(t *testing.T) {
	ctx := context.Background()
	s := vm.Spec{Name: "dev", ISO: "/images/tender.iso"}
	for _, tc := range []struct {
		transitions           bool
		afterStart, afterStop vm.State
	}{
		{false, vm.Stopped, vm.Stopped},
		{true, vm.Running, vm.Stopped},
	} {
		d := &testfakes.Driver{Transitions: tc.transitions, CreateErr: os.ErrExist}
		if err := d.Create(ctx, s); err != os.ErrExist {
			t.Errorf("Create = %v, want CreateErr", err)
		}
		d.Start(ctx, s)
		if got, _ := d.State(ctx, s); got != tc.afterStart {
			t.Errorf("transitions %v: after Start %q, want %q", tc.transitions, got, tc.afterStart)
		}
		d.Stop(ctx, s, false)
		if got, _ := d.State(ctx, s); got != tc.afterStop {
			t.Errorf("transitions %v: after Stop %q, want %q", tc.transitions, got, tc.afterStop)
		}
		d.Delete(ctx, s)
		if got, want := strings.Join(d.Calls, ","), "create dev,start /images/tender.iso,stop,delete"; got != want {
			t.Errorf("calls %q, want %q", got, want)
		}
	}
	d := &testfakes.Driver{Current: vm.Saved}
	if got, _ := d.State(ctx, s); got != vm.Saved {
		t.Errorf("State = %q, want the Current a test set", got)
	}
}

func TestFreePorts(t *testing.T) {
	tcp := testfakes.FreeTCPPort(t)
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(tcp))
	if err != nil {
		t.Fatalf("listening on the free TCP port: %v", err)
	}
	l.Close()
	udp := testfakes.FreeUDPPort(t)
	c, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(udp))
	if err != nil {
		t.Fatalf("listening on the free UDP port: %v", err)
	}
	c.Close()
}
