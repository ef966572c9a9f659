package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/tenderdev/tender/agent/api"
)

const module = "github.com/tenderdev/tender"

// shared are the packages both sides of the host↔guest boundary may import:
// the contract, and leaves that import only the standard library.
var shared = map[string]bool{
	"agent/api":  true,
	"atomicfile": true,
}

// e2eGuestImports are the guest packages the real-VM suites under test/
// (Linux only, like the guest) may use, and why.
var e2eGuestImports = map[string]string{
	"agent/disk":      "the faults suite reads a stopped machine's raw disk as the guest would, to check it was left clean",
	"agent/portwatch": "the ports suite reads the host's socket tables with the guest's parser, to check forwards listen on 127.0.0.1 only",
}

// goFile is one Go file of the module, with the module packages it imports.
type goFile struct {
	rel, dir string // slash paths relative to the module root
	test     bool
	imports  []string // module-relative for the module's packages, else the full path
	ast      *ast.File
}

func moduleFiles(t *testing.T) []goFile {
	t.Helper()
	var files []goFile
	err := filepath.WalkDir(".", func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(path)
		if e.IsDir() {
			if rel != "." && (e.Name() == "testdata" || strings.HasPrefix(e.Name(), ".") || rel == "out" || rel == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		gf := goFile{rel: rel, dir: filepath.ToSlash(filepath.Dir(path)), test: strings.HasSuffix(rel, "_test.go"), ast: f}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == module || strings.HasPrefix(p, module+"/") {
				p = strings.TrimPrefix(strings.TrimPrefix(p, module), "/")
			}
			gf.imports = append(gf.imports, p)
		}
		files = append(files, gf)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 200 {
		t.Fatalf("found only %d Go files: not run from the module root?", len(files))
	}
	return files
}

func isStdlib(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return !strings.Contains(first, ".") && !strings.HasPrefix(p, "agent/") && p != ""
}

func under(dir, pkg string) bool { return dir == pkg || strings.HasPrefix(dir, pkg+"/") }

// TestLayout holds the boundaries README's Layout section describes, on
// every Go file whatever its build tags.
func TestLayout(t *testing.T) {
	modulePkgs := map[string]bool{}
	files := moduleFiles(t)
	for _, f := range files {
		modulePkgs[f.dir] = true
	}
	isModule := func(p string) bool { return modulePkgs[p] || p == "" }
	for _, f := range files {
		for _, p := range f.imports {
			switch {
			case shared[f.dir]:
				// The contract and the shared leaves: the standard library only.
				if isModule(p) || !isStdlib(p) {
					t.Errorf("%s imports %s: %s, imported by both sides, imports only the standard library", f.rel, p, f.dir)
				}
			case under(f.dir, "agent"):
				// The guest: its own packages, the shared ones, x/sys.
				if isModule(p) && !under(p, "agent") && !shared[p] {
					t.Errorf("%s imports %s: guest code imports no host package", f.rel, p)
				}
			case isModule(p) && under(p, "agent") && !shared[p]:
				if _, ok := e2eGuestImports[p]; ok && under(f.dir, "test") {
					continue
				}
				t.Errorf("%s imports %s: host code reaches the guest only through agent/api", f.rel, p)
			}
			if under(f.dir, "commands") && !f.test && (p == "vm" || strings.HasPrefix(p, "vm/") || p == "drivers") {
				t.Errorf("%s imports %s: commands speak only to machine", f.rel, p)
			}
			if p == "internal/testfakes" && !f.test && !under(f.dir, "test") && f.dir != "internal/testfakes" {
				t.Errorf("%s imports %s, which is for tests only", f.rel, p)
			}
			if p == "netswitch" && !f.test && f.dir != "cmd/tender-net" {
				t.Errorf("%s imports %s: only cmd/tender-net links the switch", f.rel, p)
			}
		}
	}
}

// switchModules are what the network switch (netswitch, in tender-net) is
// built on; their package initialisation alone costs ~30 ms, shellinit's
// whole budget.
var switchModules = []string{"github.com/containers/gvisor-tap-vsock", "gvisor.dev/", module + "/netswitch"}

// TestTenderDoesNotLinkTheSwitch: the tender binary, on every platform it
// is released for, depends on no package of the switch's.
func TestTenderDoesNotLinkTheSwitch(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, goos := range []string{runtime.GOOS, "darwin", "windows"} {
		cmd := exec.Command("go", "list", "-deps", "-tags", "urfave_cli_no_docs", "-f", "{{.ImportPath}}", ".")
		cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("GOOS=%s go list -deps .: %v", goos, err)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 50 {
			t.Fatalf("GOOS=%s go list -deps . listed only %d packages", goos, len(deps))
		}
		for _, d := range deps {
			for _, m := range switchModules {
				if d == m || strings.HasPrefix(d, strings.TrimSuffix(m, "/")+"/") {
					t.Errorf("GOOS=%s: tender depends on %s: the switch's packages belong in tender-net only", goos, d)
				}
			}
		}
	}
}

// TestNoHandBuiltAgentCalls: outside agent/, no string literal spells an
// agent command line or a console line; they come from agent/api.
func TestNoHandBuiltAgentCalls(t *testing.T) {
	var spelled []string
	for _, c := range api.Commands {
		spelled = append(spelled, "tender-agent "+c.Name)
	}
	spelled = append(spelled, api.ConsolePrefix, api.AgentPath, api.ControlSocket)
	for _, f := range moduleFiles(t) {
		if under(f.dir, "agent") {
			continue
		}
		ast.Inspect(f.ast, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for _, w := range spelled {
				if strings.Contains(s, w) {
					t.Errorf("%s: %q spells %q by hand: use agent/api", f.rel, s, w)
					break
				}
			}
			return true
		})
	}
}

// TestREADMELayoutNamesEveryPackage keeps README's Layout table true: one
// row for each package of the module, and none for a package that is gone.
func TestREADMELayoutNamesEveryPackage(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Layout\n")
	if !ok {
		t.Fatal("README.md has no Layout section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		if f := strings.Split(line, "|"); len(f) > 3 && strings.HasPrefix(strings.TrimSpace(f[1]), "`") {
			name := strings.Trim(strings.TrimSpace(f[1]), "`")
			name, _, _ = strings.Cut(name, "`")
			rows[name] = true
		}
	}
	pkgs := map[string]bool{}
	for _, f := range moduleFiles(t) {
		if f.ast.Name.Name != "main" || f.dir != "." {
			pkgs[f.dir] = true
		}
	}
	pkgs["."] = true
	for p := range pkgs {
		if under(p, "testdata") {
			continue
		}
		if !rows[p] {
			t.Errorf("README.md's Layout section has no row for package %s", p)
		}
	}
	for r := range rows {
		if !pkgs[r] {
			t.Errorf("README.md's Layout section names %s, which is not a package", r)
		}
	}
}
