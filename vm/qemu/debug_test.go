package qemu

import (
	"os"
	"strconv"
	"testing"
)

func TestDebugCmdline(t *testing.T) {
	for i := 0; i < 200; i++ {
		cmd := startFake(t, "-name", "x")
		b, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cmdline")
		if !hasArgs(splitNUL(b), []string{"-name", "x"}) {
			st, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/status")
			t.Fatalf("iter %d: %q %v\n%s", i, b, err, st[:200])
		}
	}
}
