// Package packaging holds how tender is packaged for others' package
// managers; its test checks the files' syntax.
package packaging

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The Homebrew formula parses (ruby -c) and says what the issue asks: a
// source build with go, the version stamped, completions, qemu.
func TestHomebrewFormula(t *testing.T) {
	const path = "homebrew/tender.rb"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`depends_on "qemu"`,
		`depends_on "go" => :build`,
		`system "go", "build", *std_go_args(ldflags:, tags: "urfave_cli_no_docs")`,
		`system "go", "build", *std_go_args(ldflags:, output: bin/"tender-net"), "./cmd/tender-net"`,
		`shell_output("#{bin}/tender-net --version")`,
		`-X main.version=#{version}`,
		`-X main.commit=`,
		`-X main.date=`,
		`generate_completions_from_executable(bin/"tender", "completion")`,
		`shell_output("#{bin}/tender version")`,
		`man1.install "docs/tender.1"`,
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("%s lacks %s", path, want)
		}
	}
	if _, err := exec.LookPath("ruby"); err != nil {
		t.Skip("ruby is not installed (scripts/deps.sh installs it)")
	}
	out, err := exec.Command("ruby", "-c", path).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "Syntax OK" {
		t.Fatalf("ruby -c %s: %v\n%s", path, err, out)
	}
}

// The formula a release writes names its source archive and that archive's
// real checksum, and still parses.
func TestReleaseFormula(t *testing.T) {
	archive := t.TempDir() + "/tender-9.8.7.tar.gz"
	if err := os.WriteFile(archive, []byte("source"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("../scripts/formula.sh", "9.8.7", archive).Output()
	if err != nil {
		t.Fatalf("formula.sh: %v", err)
	}
	// sha256 of "source"
	const sum = "41cf6794ba4200b839c53531555f0f3998df4cbb01a4d5cb0b94e3ca5e23947d"
	for _, want := range []string{
		`  url "https://github.com/tenderdev/tender/releases/download/v9.8.7/tender-9.8.7.tar.gz"`,
		`  sha256 "` + sum + `"`,
	} {
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("the formula lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "0000000000000000") {
		t.Error("the formula still has the placeholder checksum")
	}
	if _, err := exec.LookPath("ruby"); err != nil {
		t.Skip("ruby is not installed (scripts/deps.sh installs it)")
	}
	rb := t.TempDir() + "/tender.rb"
	if err := os.WriteFile(rb, out, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ruby", "-c", rb).CombinedOutput(); err != nil {
		t.Fatalf("ruby -c: %v\n%s", err, out)
	}
}
