package runner

import (
	"bytes"
	"context"
	"testing"
	"time"
)

func TestExecReportsStderr(t *testing.T) {
	_, err := Exec{}.Run(context.Background(), "sh", "-c", "echo boom >&2; exit 3")
	if err == nil || err.Error() != "running sh -c: exit status 3: boom" {
		t.Fatalf("error = %v", err)
	}
}

func TestExecMissingProgram(t *testing.T) {
	_, err := Exec{InstallHint: map[string]string{"no-such-prog-x": "apt install x"}}.Run(context.Background(), "no-such-prog-x")
	if err == nil || err.Error() != "no-such-prog-x is not installed: apt install x" {
		t.Fatalf("error = %v", err)
	}
}

func TestExecVerboseEchoes(t *testing.T) {
	var log bytes.Buffer
	out, err := Exec{Verbose: &log}.Run(context.Background(), "echo", "a b", "it's")
	if err != nil || out != "a b it's\n" {
		t.Fatalf("out = %q, err = %v", out, err)
	}
	if want := `+ echo 'a b' 'it'\''s'` + "\n"; log.String() != want {
		t.Fatalf("log = %q, want %q", log.String(), want)
	}
}

// Run and RunCall are one implementation: each case runs through both and
// must fail the same way.
func TestExecErrors(t *testing.T) {
	hints := map[string]string{"no-such-prog-x": "apt install x"}
	for _, tc := range []struct {
		name    string
		e       Exec
		argv    []string
		want    string
		wantOut string
	}{
		{"stderr trimmed", Exec{}, []string{"sh", "-c", "echo out; echo '  boom  ' >&2; exit 3"}, "running sh -c: exit status 3: boom", "out\n"},
		{"no stderr", Exec{}, []string{"sh", "-c", "exit 2"}, "running sh -c: exit status 2", ""},
		{"no arguments", Exec{}, []string{"false"}, "running false: exit status 1", ""},
		{"base name of a path", Exec{}, []string{"/bin/sh", "-c", "exit 1"}, "running sh -c: exit status 1", ""},
		{"missing with hint", Exec{InstallHint: hints}, []string{"no-such-prog-x", "-v"}, "no-such-prog-x is not installed: apt install x", ""},
		// A path that does not exist is not exec.ErrNotFound: it fails to
		// start like any other program, named by its base name less ".exe".
		{"missing path", Exec{InstallHint: hints}, []string{"/no/such/dir/no-such-prog-x.exe", "-v"}, "running no-such-prog-x -v: fork/exec /no/such/dir/no-such-prog-x.exe: no such file or directory", ""},
		{"missing without hint", Exec{}, []string{"no-such-prog-y"}, "no-such-prog-y is not installed or not on PATH", ""},
		{"timeout", Exec{Timeout: 50 * time.Millisecond}, []string{"sleep", "5"}, "running sleep 5: signal: killed (context deadline exceeded)", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.e.Run(context.Background(), tc.argv[0], tc.argv[1:]...)
			cout, _, cerr := tc.e.RunCall(context.Background(), Call{}, tc.argv[0], tc.argv[1:]...)
			if err == nil || err.Error() != tc.want {
				t.Errorf("Run error = %v, want %q", err, tc.want)
			}
			if cerr == nil || cerr.Error() != tc.want {
				t.Errorf("RunCall error = %v, want %q", cerr, tc.want)
			}
			if out != tc.wantOut || cout != tc.wantOut {
				t.Errorf("stdout = %q (Run), %q (RunCall), want %q", out, cout, tc.wantOut)
			}
		})
	}
}

func TestExecEnv(t *testing.T) {
	t.Setenv("TENDER_DROP", "x")
	e := Exec{Env: []string{"TENDER_ADDED=1"}}
	out, err := e.Run(context.Background(), "sh", "-c", `echo "$TENDER_ADDED ${TENDER_DROP-unset}"`)
	if err != nil || out != "1 x\n" {
		t.Fatalf("Run: out = %q, err = %v", out, err)
	}
	out, _, err = e.RunCall(context.Background(), Call{Unset: []string{"TENDER_DROP"}}, "sh", "-c", `echo "$TENDER_ADDED ${TENDER_DROP-unset}"`)
	if err != nil || out != "1 unset\n" {
		t.Fatalf("RunCall: out = %q, err = %v", out, err)
	}
}
