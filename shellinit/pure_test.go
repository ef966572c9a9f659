package shellinit

import (
	"go/parser"
	"go/token"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPure keeps the package pure: shellinit runs in every new shell, so it
// must not be able to start a process, read state or touch the network. The
// one tender package it may import, shellquote, is held to the same list.
func TestPure(t *testing.T) {
	allowed := map[string]bool{"bytes": true, "errors": true, "fmt": true, "io": true, "strings": true}
	const module = "github.com/tenderdev/tender/"
	pure := map[string]string{module + "shellquote": "../shellquote"}
	for _, dir := range []string{".", pure[module+"shellquote"]} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no Go files in %s", dir)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if _, ok := pure[path]; !allowed[path] && !ok {
					t.Errorf("%s imports %s; shellinit must stay pure (bytes, errors, fmt, io, strings)", file, path)
				}
			}
		}
	}
}

func BenchmarkRender(b *testing.B) {
	vars := DockerVars(2376, certPath, "default")
	opts := Options{NoProxy: "127.0.0.1", Getenv: func(string) string { return "localhost" }}
	for b.Loop() {
		if err := Render(io.Discard, vars, Bash, opts); err != nil {
			b.Fatal(err)
		}
	}
}
