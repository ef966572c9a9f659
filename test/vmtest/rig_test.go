//go:build rig

package vmtest

import (
	"os"
	"os/exec"
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
		if err := vm.WaitSerial("phase disk-mounted", 3*time.Minute); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		p := time.Now()
		if err := vm.PowerButton(); err != nil {
			t.Fatal(err)
		}
		err := vm.WaitExit(20 * time.Second)
		t.Logf("boot %d: exit after %s: %v\n%s", i, time.Since(p), err, vm.Serial())
		out, _ := exec.Command("debugfs", "-R", "cat /var/lib/tender/log/agent.log", disk).CombinedOutput()
		t.Logf("agent.log:\n%s", out)
		if i == 1 && strings.Contains(vm.Serial(), "formatting") {
			t.Error("formatted again")
		}
	}
}

// TestDebug boots the ISO, runs the shell script $TENDER_DEBUG_SCRIPT as
// docker over SSH, presses the power button and shows the agent's log from
// a second boot.
func TestDebug(t *testing.T) {
	id := NewIdentity(t)
	disk := id.NewDisk(t, 2<<30)
	vm := Boot(t, Options{Disk: disk, Identity: id, Forward: []int{8080}})
	t.Logf("ready after %s", time.Since(vm.Started))
	if err := vm.ImportBusybox(); err != nil {
		t.Fatal(err)
	}
	if out, err := vm.Docker("run", "-d", "-p", "8080:80", "busybox", "httpd", "-f", "-p", "80"); err != nil {
		t.Fatal(err, out)
	}
	time.Sleep(10 * time.Second) // memory is measured 10 s after ready
	script, _ := os.ReadFile(os.Getenv("TENDER_DEBUG_SCRIPT"))
	out, err := vm.Run(string(script))
	t.Logf("script: %v\n%s", err, out)
	p := time.Now()
	if err := vm.PowerButton(); err != nil {
		t.Fatal(err)
	}
	err = vm.WaitExit(40 * time.Second)
	t.Logf("exit after %s: %v", time.Since(p), err)
	vm.Kill()
	out2, _ := exec.Command("debugfs", "-R", "cat /var/lib/tender/log/agent.log", disk).CombinedOutput()
	t.Logf("agent.log:\n%s", out2)
	out3, _ := exec.Command("debugfs", "-R", "cat /var/lib/tender/log/dockerd.log", disk).CombinedOutput()
	t.Logf("dockerd.log:\n%s", out3)
}
