// Package scripts_test holds the tests of the shell scripts under scripts/:
// that each tool a script checks for is in scripts/deps.txt, the one list
// scripts/deps.sh installs from. (A test-only package: scripts/ has no Go
// code of its own; scripts/gendocs is a separate program.)
package scripts_test

import (
	"bufio"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// depsList reads scripts/deps.txt ("PACKAGE COMMAND-OR-FILE # why" lines)
// into the set of listed tools, and every malformed line as a problem.
func depsList(name, text string) (map[string]bool, []string) {
	tools := map[string]bool{}
	var problems []string
	pkgRe := regexp.MustCompile(`^(-|go:[a-z0-9./-]+@[a-z0-9.-]+|[a-z0-9][a-z0-9.+-]+)$`)
	for i, line := range strings.Split(text, "\n") {
		at := fmt.Sprintf("%s:%d", name, i+1)
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		fields, why, _ := strings.Cut(line, "#")
		f := strings.Fields(fields)
		if len(f) != 2 {
			problems = append(problems, fmt.Sprintf("%s: want PACKAGE COMMAND-OR-FILE # why, got %q", at, line))
			continue
		}
		pkg, tool := f[0], f[1]
		if !pkgRe.MatchString(pkg) {
			problems = append(problems, fmt.Sprintf("%s: package %q is not a Debian package name, go:MODULE@VERSION or -", at, pkg))
		}
		if strings.Contains(tool, "/") && !strings.HasPrefix(tool, "/") {
			problems = append(problems, fmt.Sprintf("%s: %q must be a command name or an absolute path", at, tool))
		}
		if strings.TrimSpace(why) == "" {
			problems = append(problems, fmt.Sprintf("%s: %s has no # why", at, tool))
		}
		if tools[tool] {
			problems = append(problems, fmt.Sprintf("%s: %s is listed twice", at, tool))
		}
		tools[tool] = true
	}
	return tools, problems
}

var (
	// need TOOL... as a command: at a line's start or after ; & | ( { then do else.
	needRe = regexp.MustCompile(`(?:^|[;&|({]|\bthen|\bdo|\belse)\s*need(\s[^;&|)]*)?(?:$|[;&|)])`)
	// a comment to the line's end (a # that starts a word)
	commentRe = regexp.MustCompile(`(?:^|\s)#.*`)
	// command -v WORD
	commandVRe = regexp.MustCompile(`\bcommand\s+-v\s+([^\s;&|)]+)`)
	// [ -e PATH ] or test -e PATH, and the like
	fileTestRe = regexp.MustCompile(`(?:\[|\btest)\s+-[efxrsd]\s+([^\s\]]+)`)
	// an install hint: what need alone should print
	hintRe = regexp.MustCompile(`is missing.*(deps\.sh|apt(-get)? install)`)
	// a Go test's skip or error that promises deps.sh installs a tool
	goHintRe = regexp.MustCompile(`([A-Za-z0-9._/+-]+) is (?:not installed|missing) \((?:run )?scripts/deps\.sh`)
)

// checkScript returns the problems of one shell script: each tool it checks
// for (need TOOL, command -v TOOL, a file test with an install hint) must be
// literal and in tools, and no install hint may be written by hand.
func checkScript(name, text string, tools map[string]bool) []string {
	var problems []string
	report := func(line int, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s:%d: ", name, line)+fmt.Sprintf(format, args...))
	}
	checkTool := func(line int, how, word string) {
		tool := strings.Trim(word, `"'`)
		switch {
		case strings.ContainsAny(tool, "$`"):
			report(line, "%s %s: name the tool literally, so this test can check it against scripts/deps.txt", how, word)
		case !tools[tool]:
			report(line, "%s %s: scripts/deps.txt has no line for it (add the package that provides it)", how, tool)
		}
	}
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := lines[i]
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + " " + lines[i]
		}
		line = commentRe.ReplaceAllString(line, "")
		for _, m := range needRe.FindAllStringSubmatch(line, -1) {
			words := strings.Fields(m[1])
			if len(words) == 0 {
				report(n, "need without a tool")
			}
			for _, w := range words {
				checkTool(n, "need", w)
			}
		}
		for _, m := range commandVRe.FindAllStringSubmatch(line, -1) {
			checkTool(n, "command -v", m[1])
		}
		if hintRe.MatchString(line) {
			for _, m := range fileTestRe.FindAllStringSubmatch(line, -1) {
				checkTool(n, "file test", m[1])
			}
			report(n, "a tool check written by hand: use need TOOL (scripts/need.sh), which says what installs it")
		}
	}
	return problems
}

// checkGo returns the Go file's promises that scripts/deps.sh installs a
// tool it does not list.
func checkGo(name, text string, tools map[string]bool) []string {
	var problems []string
	for i, line := range strings.Split(text, "\n") {
		for _, m := range goHintRe.FindAllStringSubmatch(line, -1) {
			if !tools[m[1]] {
				problems = append(problems, fmt.Sprintf("%s:%d: says scripts/deps.sh installs %s, but scripts/deps.txt has no line for it", name, i+1, m[1]))
			}
		}
	}
	return problems
}

func isShell(path string) bool {
	if strings.HasSuffix(path, ".sh") {
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	first, _ := bufio.NewReader(f).ReadString('\n')
	return strings.HasPrefix(first, "#!") && regexp.MustCompile(`\b(ba)?sh\b`).MatchString(first)
}

func TestDepsList(t *testing.T) {
	tests := []struct {
		name, text string
		tools      []string
		problems   []string
	}{
		{"good", "# comment\n\nxorriso xorriso # the ISO\n- go # install Go\ngo:honnef.co/go/tools/cmd/staticcheck@latest staticcheck # lint\nisolinux /usr/lib/ISOLINUX/isolinux.bin # boot\n",
			[]string{"/usr/lib/ISOLINUX/isolinux.bin", "go", "staticcheck", "xorriso"}, nil},
		{"no why", "cpio cpio\n", []string{"cpio"}, []string{"d:1: cpio has no # why"}},
		{"one field", "cpio # why\n", nil, []string{`d:1: want PACKAGE COMMAND-OR-FILE # why, got "cpio # why"`}},
		{"twice", "cpio cpio # a\nbusybox-static cpio # b\n", []string{"cpio"}, []string{"d:2: cpio is listed twice"}},
		{"bad names", "Cpio lib/x # a\n", []string{"lib/x"}, []string{
			`d:1: package "Cpio" is not a Debian package name, go:MODULE@VERSION or -`,
			`d:1: "lib/x" must be a command name or an absolute path`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tools, problems := depsList("d", tt.text)
			if got := slices.Sorted(maps.Keys(tools)); !reflect.DeepEqual(got, tt.tools) {
				t.Errorf("tools = %q, want %q", got, tt.tools)
			}
			if !reflect.DeepEqual(problems, tt.problems) {
				t.Errorf("problems =\n%s\nwant\n%s", strings.Join(problems, "\n"), strings.Join(tt.problems, "\n"))
			}
		})
	}
}

func TestCheckScript(t *testing.T) {
	tools := map[string]bool{"xorriso": true, "cpio": true, "/bin/busybox": true, "depmod": true}
	tests := []struct {
		name, script string
		problems     []string
	}{
		{"listed", "need xorriso cpio\nif [ x ]; then need /bin/busybox; fi\nneed \\\n\tdepmod\ncommand -v xorriso >/dev/null\n", nil},
		{"comments and words", "# need mmdebstrap\necho needed kmod # command -v fakeroot\nneeds=1\n", nil},
		{"need unlisted", "x=1\nneed xorriso kmod\n", []string{
			"s.sh:2: need kmod: scripts/deps.txt has no line for it (add the package that provides it)",
		}},
		{"need variable", `[ "$a" = x ] && need "$QEMU"` + "\n", []string{
			`s.sh:1: need "$QEMU": name the tool literally, so this test can check it against scripts/deps.txt`,
		}},
		{"need alone", "need\n", []string{"s.sh:1: need without a tool"}},
		{"command -v unlisted", "command -v mmdebstrap >/dev/null || exit 1\n", []string{
			"s.sh:1: command -v mmdebstrap: scripts/deps.txt has no line for it (add the package that provides it)",
		}},
		{"by hand", `[ -f /usr/lib/ISOLINUX/isolinux.bin ] || die "isolinux is missing: run scripts/deps.sh"` + "\n", []string{
			"s.sh:1: file test /usr/lib/ISOLINUX/isolinux.bin: scripts/deps.txt has no line for it (add the package that provides it)",
			"s.sh:1: a tool check written by hand: use need TOOL (scripts/need.sh), which says what installs it",
		}},
		{"loop by hand", "for t in a b; do\n\tcommand -v \"$t\" >/dev/null || die \"$t is missing: run scripts/deps.sh\"\ndone\n", []string{
			`s.sh:2: command -v "$t": name the tool literally, so this test can check it against scripts/deps.txt`,
			"s.sh:2: a tool check written by hand: use need TOOL (scripts/need.sh), which says what installs it",
		}},
		{"apt hint", `[ -x "$bb" ] || { echo "$bb is missing (apt install busybox-static)"; exit 1; }` + "\n", []string{
			`s.sh:1: file test "$bb": name the tool literally, so this test can check it against scripts/deps.txt`,
			"s.sh:1: a tool check written by hand: use need TOOL (scripts/need.sh), which says what installs it",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkScript("s.sh", tt.script, tools); !reflect.DeepEqual(got, tt.problems) {
				t.Errorf("problems =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.problems, "\n"))
			}
		})
	}
}

func TestCheckGo(t *testing.T) {
	tools := map[string]bool{"xorriso": true}
	text := "t.Skip(\"xorriso is not installed (scripts/deps.sh installs it)\")\n" +
		"return errors.New(\"strace is missing (run scripts/deps.sh)\")\n"
	want := []string{"x.go:2: says scripts/deps.sh installs strace, but scripts/deps.txt has no line for it"}
	if got := checkGo("x.go", text, tools); !reflect.DeepEqual(got, want) {
		t.Errorf("problems = %q, want %q", got, want)
	}
}

// TestScriptsCheckOnlyListedTools runs the checks over the repository: the
// scripts under scripts/ (but the guest's own files in scripts/iso, and
// need.sh and deps.sh, which read the list themselves) and every Go file's
// deps.sh hint.
func TestScriptsCheckOnlyListedTools(t *testing.T) {
	text, err := os.ReadFile("deps.txt")
	if err != nil {
		t.Fatal(err)
	}
	tools, problems := depsList("scripts/deps.txt", string(text))
	scripts := 0
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, ".."+string(filepath.Separator)))
		if d.IsDir() {
			switch rel {
			case ".git", "out", "scripts/iso":
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case rel == "scripts/deps_test.go", rel == "scripts/need.sh", rel == "scripts/deps.sh":
			return nil // the checks' own examples; need itself; deps.sh reads the list
		case strings.HasSuffix(rel, ".go"):
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			problems = append(problems, checkGo(rel, string(b), tools)...)
		case strings.HasPrefix(rel, "scripts/") && d.Type().IsRegular() && isShell(path):
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			scripts++
			problems = append(problems, checkScript(rel, string(b), tools)...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scripts < 5 {
		t.Fatalf("found %d scripts under scripts/, want the build, deps and bench scripts at least", scripts)
	}
	for _, p := range problems {
		t.Error(p)
	}
}
