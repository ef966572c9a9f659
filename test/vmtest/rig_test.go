//go:build rig

package vmtest

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestRig boots the agent from a throwaway initramfs (TENDER_RIG_KERNEL,
// TENDER_RIG_INITRD): PID 1 without sshd or dockerd.
func TestRig(t *testing.T) {
	boot := []string{"-kernel", os.Getenv("TENDER_RIG_KERNEL"), "-initrd", os.Getenv("TENDER_RIG_INITRD"), "-append", "console=ttyS0 quiet"}
	id := NewIdentity(t)
	disk := id.NewDisk(t, 2<<30)
	for i := 0; i < 2; i++ {
		vm := Start(t, Options{Disk: disk, Identity: id, bootArgs: boot})
		if err := vm.WaitSerial("phase sshd-started", 3*time.Minute); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		p := time.Now()
		if err := vm.PowerButton(); err != nil {
			t.Fatal(err)
		}
		err := vm.WaitExit(20 * time.Second)
		t.Logf("boot %d: exit after %s: %v\n%s", i, time.Since(p), err, vm.Serial())
		if i == 1 && strings.Contains(vm.Serial(), "formatting") {
			t.Error("formatted again")
		}
	}
}
