package iso

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// makeISO builds an image of tree with xorriso, as the ISO build does, with
// Rock Ridge names (-r) or only ISO 9660 ones.
func makeISO(t *testing.T, rockRidge bool, files map[string]string) string {
	t.Helper()
	if _, err := exec.LookPath("xorriso"); err != nil {
		t.Skip("xorriso is not installed (scripts/deps.sh installs it)")
	}
	tree := t.TempDir()
	for name, data := range files {
		p := filepath.Join(tree, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "test.iso")
	args := []string{"-as", "mkisofs", "-quiet", "-o", out, "-V", "tender-v0.1.0"}
	if rockRidge {
		args = append(args, "-r", "-J")
	}
	if b, err := exec.Command("xorriso", append(args, tree)...).CombinedOutput(); err != nil {
		t.Fatalf("xorriso: %v: %s", err, b)
	}
	return out
}

func TestReadFile(t *testing.T) {
	big := strings.Repeat("kernel ", 100000) // several sectors
	files := map[string]string{
		"boot/vmlinuz":    big,
		"boot/initrd.img": "initramfs",
		"boot/cmdline":    "console=ttyAMA0 quiet\n",
		"tender/VERSION":  "0.1.0\n",
	}
	// Many entries, so the boot directory spans more than one sector.
	for i := 0; i < 80; i++ {
		files["boot/padding-file-with-a-long-name-"+strings.Repeat("x", i%20)+string(rune('a'+i%26))+".txt"] = "p"
	}
	for _, rr := range []bool{true, false} {
		f, err := os.Open(makeISO(t, rr, files))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for name, want := range map[string]string{KernelPath: big, InitrdPath: "initramfs", CmdlinePath: "console=ttyAMA0 quiet\n", "/tender/VERSION": "0.1.0\n"} {
			got, err := ReadFile(f, name)
			if err != nil || string(got) != want {
				t.Errorf("rock ridge %v: ReadFile(%s) = %d bytes, %v; want %d bytes", rr, name, len(got), err, len(want))
			}
		}
		for name, wantErr := range map[string]string{
			"/boot/missing":   "missing: no such file in the image",
			"/boot":           "/boot is a directory",
			"/boot/cmdline/x": "boot/cmdline: not a directory",
		} {
			if _, err := ReadFile(f, name); err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("rock ridge %v: ReadFile(%s) error = %v, want %q", rr, name, err, wantErr)
			}
		}
	}
}

func TestReadFileRejectsNonISO(t *testing.T) {
	if _, err := ReadFile(strings.NewReader(strings.Repeat("x", 40000)), KernelPath); err == nil || !strings.Contains(err.Error(), "no ISO 9660 primary volume descriptor") {
		t.Errorf("error = %v", err)
	}
	if _, err := ReadFile(strings.NewReader("short"), KernelPath); err == nil {
		t.Error("a short file was read")
	}
}
