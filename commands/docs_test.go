package commands

import (
	"os"
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
