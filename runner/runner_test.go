package runner

import (
	"bytes"
	"context"
	"strings"
	"testing"
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

func TestQuote(t *testing.T) {
	if got := Quote([]string{"qemu", "-m", "2048", "", "a$b"}); !strings.HasSuffix(got, `'' 'a$b'`) {
		t.Fatalf("Quote = %q", got)
	}
}
