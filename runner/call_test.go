package runner

import (
	"context"
	"strings"
	"testing"
)

func TestRunCallStdinAndStderr(t *testing.T) {
	out, errOut, err := Exec{}.RunCall(context.Background(), Call{Stdin: strings.NewReader("fed")}, "sh", "-c", "cat; echo warn >&2")
	if err != nil || out != "fed" || errOut != "warn\n" {
		t.Fatalf("out = %q, stderr = %q, err = %v", out, errOut, err)
	}
}

func TestRunCallUnsetsVariables(t *testing.T) {
	t.Setenv("DYLD_LIBRARY_PATH", "/broken")
	t.Setenv("TENDER_KEEP", "kept")
	out, _, err := Exec{}.RunCall(context.Background(), Call{Unset: []string{"DYLD_LIBRARY_PATH"}}, "sh", "-c", `echo "${DYLD_LIBRARY_PATH-unset} $TENDER_KEEP"`)
	if err != nil || out != "unset kept\n" {
		t.Fatalf("out = %q, err = %v", out, err)
	}
}

func TestRunCallErrorNamesBaseName(t *testing.T) {
	_, _, err := Exec{}.RunCall(context.Background(), Call{}, "/bin/sh", "-c", "echo boom >&2; exit 1")
	if err == nil || err.Error() != "running sh -c: exit status 1: boom" {
		t.Fatalf("error = %v", err)
	}
}
