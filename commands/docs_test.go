package commands

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// docs/commands.md is the app's own help; this fails when a command's help
// changed and the page was not regenerated.
func TestCommandsDocIsUpToDate(t *testing.T) {
	t.Setenv("TENDER_VM", "")
	os.Unsetenv("TENDER_VM")
	want, err := Markdown()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../docs/commands.md")
	if err != nil {
		t.Fatalf("%v (run `make docs`)", err)
	}
	if string(got) != want {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(want, "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("docs/commands.md is stale (run `make docs`); first difference at line %d:\n have %q\n want %q", i+1, g, w)
			}
		}
	}
	for _, section := range []string{"## tender download\n", "## tender upgrade\n", "## tender completion\n", "   --format value"} {
		if !strings.Contains(want, section) {
			t.Errorf("the page lacks %q", section)
		}
	}
}

// docs/tender.1 is the same help as a man page, regenerated with the
// Markdown, and man reads it without a warning.
func TestManpageIsUpToDate(t *testing.T) {
	t.Setenv("TENDER_VM", "")
	os.Unsetenv("TENDER_VM")
	want, err := Manpage()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../docs/tender.1")
	if err != nil || string(got) != want {
		t.Fatalf("docs/tender.1 is missing or stale (run `make docs`): %v", err)
	}
	for _, section := range []string{".SH \"TENDER UP\"\n", ".SH \"TENDER DOCTOR\"\n", "tender up --activate"} {
		if !strings.Contains(want, section) {
			t.Errorf("the man page lacks %q", section)
		}
	}
	if _, err := exec.LookPath("groff"); err != nil {
		t.Skip("groff is not installed")
	}
	out, err := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z", "../docs/tender.1").CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("groff -man -ww: %v\n%s", err, out)
	}
}
