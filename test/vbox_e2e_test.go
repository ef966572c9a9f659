//go:build e2e

package test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// vboxsim builds the VBoxManage simulator as a program named VBoxManage
// and returns its directory.
func vboxsim(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "VBoxManage"), "./vboxsim").CombinedOutput()
	if err != nil {
		t.Fatalf("building the VBoxManage simulator: %v\n%s", err, out)
	}
	return dir
}

// vbm runs the simulator the way a user would run VBoxManage.
func vbm(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("VBoxManage", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("VBoxManage %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func vmState(t *testing.T) string {
	t.Helper()
	for _, line := range strings.Split(vbm(t, "showvminfo", "tender-default", "--machinereadable"), "\n") {
		if v, ok := strings.CutPrefix(line, "VMState="); ok {
			return strings.Trim(v, `"`)
		}
	}
	t.Fatal("showvminfo printed no VMState")
	return ""
}

// TestVirtualBoxEndToEnd runs the real tender CLI with --driver virtualbox
// against the VBoxManage simulator (test/vboxsim), which boots the VM for
// real with QEMU: init, up, docker run through shellinit, down, up again
// with the data kept, save and resume, delete.
func TestVirtualBoxEndToEnd(t *testing.T) {
	iso := builtISO(t, "tender.iso", "make iso")
	t.Setenv("PATH", vboxsim(t)+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("VBOXSIM_HOME", filepath.Join(t.TempDir(), "vboxsim"))
	if v := vbm(t, "--version"); !strings.Contains(v, "simulator") {
		t.Fatalf("VBoxManage on PATH is not the simulator: %q", v)
	}
	c := &cli{t: t, bin: tenderBin(t), home: filepath.Join(t.TempDir(), `vbox home`)}
	machineDir := filepath.Join(c.home, "machines", "default")
	t.Cleanup(func() {
		if t.Failed() {
			serial, _ := os.ReadFile(filepath.Join(machineDir, "serial.log"))
			t.Logf("serial.log:\n%s", serial)
			vboxLog, _ := os.ReadFile(filepath.Join(machineDir, "tender-default", "Logs", "VBox.log"))
			t.Logf("VBox.log:\n%s", vboxLog)
		}
		_, _ = c.tenderErr("poweroff")
		_ = exec.Command("VBoxManage", "controlvm", "tender-default", "poweroff").Run()
	})

	// init registers the VM with its VMDK and serial log.
	c.tender("init", "--driver", "virtualbox", "--iso", iso, "--memory", "1GiB", "--disksize", "4GiB")
	// The machine boots tender's own copy of the image, with the same bytes.
	kept := strings.TrimSpace(c.tender("info", "--format", "{{.ISO}}"))
	if !strings.HasPrefix(kept, filepath.Join(c.home, "cache", "images")+"/") || fileSHA256(t, kept) != fileSHA256(t, iso) {
		t.Fatalf("the machine's image is %s, not tender's copy of %s", kept, iso)
	}
	info := vbm(t, "showvminfo", "tender-default", "--machinereadable")
	for _, want := range []string{
		`VMState="poweroff"`,
		`"SATA-0-0"="` + kept + `"`,
		`"SATA-1-0"="` + filepath.Join(machineDir, "disk.vmdk") + `"`,
		`nictype1="virtio"`,
		`uartmode1="file,` + filepath.Join(machineDir, "serial.log") + `"`,
	} {
		if !strings.Contains(info, want) {
			t.Fatalf("after init, showvminfo lacks %s:\n%s", want, info)
		}
	}
	if got := c.tender("info"); !strings.Contains(got, `"driver": "virtualbox"`) || !strings.Contains(got, `"driver_reason": "driver: virtualbox (from machine.yaml)"`) {
		t.Fatalf("info = %s", got)
	}

	// up, then docker through shellinit.
	start := time.Now()
	c.tender("up")
	t.Logf("first up (cold boot, disk formatted): %s", time.Since(start).Round(time.Second))
	if got := c.status(); got != "running\n" || vmState(t) != "running" {
		t.Fatalf("status after up = %q, VMState %s", got, vmState(t))
	}
	if !strings.Contains(vbm(t, "showvminfo", "tender-default", "--machinereadable"), `Forwarding(0)="docker,tcp,127.0.0.1,`) {
		t.Fatal("up added no docker NAT rule")
	}
	out := c.bash(`eval "$(tender shellinit)"
./scripts/busybox-image.sh >/dev/null
docker run --rm busybox echo hello world`)
	if out != "hello world\n" {
		t.Fatalf("docker run printed %q, want %q", out, "hello world\n")
	}
	c.bash(`eval "$(tender shellinit)"; docker run --name keeper busybox true`)

	// down: the guest powers itself off.
	c.tender("down")
	if got := c.status(); got != "stopped\n" {
		t.Fatalf("status after down = %q, want stopped", got)
	}
	if st := vmState(t); st != "poweroff" {
		t.Fatalf("VMState after down = %s, want poweroff", st)
	}

	// up again: the image and the container are still on the data disk.
	start = time.Now()
	c.tender("up")
	t.Logf("second up (cold boot): %s", time.Since(start).Round(time.Second))
	out = c.bash(`eval "$(tender shellinit)"; docker image ls --format '{{.Repository}}'; docker ps -a --format '{{.Names}}'`)
	if !strings.Contains(out, "busybox") || !strings.Contains(out, "keeper") {
		t.Fatalf("after a reboot, images and containers are %q; want busybox and keeper", out)
	}

	// save, then up resumes the saved VM.
	start = time.Now()
	c.tender("save")
	t.Logf("save: %s", time.Since(start).Round(100*time.Millisecond))
	if got := c.status(); got != "saved\n" || vmState(t) != "saved" {
		t.Fatalf("status after save = %q, VMState %s", got, vmState(t))
	}
	start = time.Now()
	c.tender("up")
	t.Logf("up from saved (resume): %s", time.Since(start).Round(100*time.Millisecond))
	if got := c.status(); got != "running\n" {
		t.Fatalf("status after resume = %q", got)
	}
	if out := c.bash(`eval "$(tender shellinit)"; timeout 300 docker run --rm busybox echo resumed`); out != "resumed\n" {
		t.Fatalf("after resume docker run printed %q", out)
	}

	// delete -f: the VM is unregistered and the machine directory is gone.
	c.tender("delete", "-f")
	if got := c.status(); got != "not-created\n" {
		t.Fatalf("status after delete = %q, want not-created", got)
	}
	if got := vbm(t, "list", "vms"); got != "" {
		t.Fatalf("list vms after delete = %q", got)
	}
	if _, err := os.Stat(machineDir); !os.IsNotExist(err) {
		t.Fatalf("machine directory still there after delete: %v", err)
	}
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
