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
