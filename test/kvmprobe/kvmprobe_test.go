package kvmprobe

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"testing"
)

// serveQMP answers like QEMU: a greeting, then for each command an event
// first (QEMU interleaves them) and the reply.
func serveQMP(t *testing.T, runStatus string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "qmp.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, `{"QMP": {"version": {}, "capabilities": []}}`)
			r := bufio.NewScanner(c)
			for r.Scan() {
				fmt.Fprintln(c, `{"event": "RESUME", "timestamp": {}}`)
				if r.Text() == `{"execute":"query-status"}` {
					fmt.Fprintf(c, `{"return": {"status": %q, "running": false}}`+"\n", runStatus)
				} else {
					fmt.Fprintln(c, `{"return": {}}`)
				}
			}
			c.Close()
		}
	}()
	return sock
}

func TestStatus(t *testing.T) {
	if got := status(serveQMP(t, "internal-error")); got != "internal-error" {
		t.Errorf("status = %q, want internal-error", got)
	}
	if got := status(serveQMP(t, "running")); got != "running" {
		t.Errorf("status = %q, want running", got)
	}
	if got := status(filepath.Join(t.TempDir(), "none.sock")); got != "" {
		t.Errorf("status without QEMU = %q, want empty", got)
	}
}

func TestCacheFileNamesProgramAndBoot(t *testing.T) {
	a, b := cacheFile("/usr/bin/qemu-system-x86_64"), cacheFile("qemu-system-aarch64")
	if a == b || filepath.Base(a) == "" {
		t.Errorf("cache files %q and %q should differ by program", a, b)
	}
}
