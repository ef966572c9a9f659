package qemu

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenderdev/tender/vm"
)

// armImage builds a small ISO laid out like tender-arm64.iso.
func armImage(t *testing.T, withCmdline bool) string {
	t.Helper()
	if _, err := exec.LookPath("xorriso"); err != nil {
		t.Skip("xorriso is not installed (scripts/deps.sh installs it)")
	}
	tree := t.TempDir()
	os.MkdirAll(filepath.Join(tree, "boot"), 0o755)
	os.WriteFile(filepath.Join(tree, "boot", "vmlinuz"), []byte("kernel"), 0o644)
	os.WriteFile(filepath.Join(tree, "boot", "initrd.img"), []byte("initramfs"), 0o644)
	if withCmdline {
		os.WriteFile(filepath.Join(tree, "boot", "cmdline"), []byte("console=ttyAMA0 quiet\n"), 0o644)
	}
	img := filepath.Join(t.TempDir(), "tender-arm64.iso")
	if b, err := exec.Command("xorriso", "-as", "mkisofs", "-quiet", "-o", img, "-V", "tender-v0.1.0", "-r", "-J", tree).CombinedOutput(); err != nil {
		t.Fatalf("xorriso: %v: %s", err, b)
	}
	return img
}

func TestKernelBoot(t *testing.T) {
	host := Host{GOOS: "linux", GOARCH: "amd64"}
	s := vm.Spec{Dir: t.TempDir(), ISO: armImage(t, true), Arch: "arm64"}
	boot, err := kernelBoot(s, host)
	if err != nil {
		t.Fatal(err)
	}
	want := KernelBoot{Kernel: filepath.Join(s.Dir, KernelFile), Initrd: filepath.Join(s.Dir, InitrdFile), Append: "console=ttyAMA0 quiet"}
	if *boot != want {
		t.Errorf("kernelBoot = %+v, want %+v", *boot, want)
	}
	for path, data := range map[string]string{boot.Kernel: "kernel", boot.Initrd: "initramfs"} {
		if got, _ := os.ReadFile(path); string(got) != data {
			t.Errorf("%s holds %q, want %q", path, got, data)
		}
	}

	if boot, err := kernelBoot(vm.Spec{Dir: s.Dir, ISO: s.ISO, Arch: "amd64"}, host); boot != nil || err != nil {
		t.Errorf("amd64 guest: kernelBoot = %v, %v; want nil, nil (it boots the CD)", boot, err)
	}

	bad := vm.Spec{Dir: t.TempDir(), ISO: armImage(t, false), Arch: "arm64"}
	if _, err := kernelBoot(bad, host); err == nil || !strings.Contains(err.Error(), "cannot boot on arm64: cmdline: no such file in the image") {
		t.Errorf("image without a command line: error = %v", err)
	}
}
