package main

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/tenderdev/tender/internal/testfakes"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"tender": func() { os.Exit(run(os.Args)) },
	})
}

// TestScripts runs the command-line scripts in testdata/script: every bad
// input gets a one-line error naming the field and the fix, and leaves
// nothing half-made. They need no VM.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			e.Setenv("TENDER_HOME", e.WorkDir+"/home")
			e.Setenv("HOME", e.WorkDir)
			// Offline: init may download an image when none is found.
			e.Setenv("TENDER_ISO_URL", "http://127.0.0.1:9/tender.iso")
			e.Setenv("DOCKER_CONFIG", e.WorkDir+"/.docker")
			// $TENDERBIN is a PATH holding only tender, to show what
			// happens when QEMU is not installed.
			path := e.Getenv("PATH")
			e.Setenv("ORIGPATH", path)
			e.Setenv("TENDERBIN", strings.SplitN(path, string(os.PathListSeparator), 2)[0])
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// occupy-port VAR: listen on a free 127.0.0.1 port for the rest
			// of the script and put its number in $VAR.
			"occupy-port": func(ts *testscript.TestScript, neg bool, args []string) {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				ts.Check(err)
				ts.Defer(func() { l.Close() })
				ts.Setenv(args[0], strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
			},
			// fake-iso FILE: write the smallest file tender accepts as an ISO.
			"fake-iso": func(ts *testscript.TestScript, neg bool, args []string) {
				ts.Check(os.WriteFile(ts.MkAbs(args[0]), testfakes.ISO("tender-v0.0.0"), 0o644))
			},
		},
	})
}
