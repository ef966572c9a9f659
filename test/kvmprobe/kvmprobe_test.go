package kvmprobe

import (
	"path/filepath"
	"testing"
)

func TestCacheFileNamesProgramAndBoot(t *testing.T) {
	a, b := cacheFile("/usr/bin/qemu-system-x86_64"), cacheFile("qemu-system-aarch64")
	if a == b || filepath.Base(a) == "" {
		t.Errorf("cache files %q and %q should differ by program", a, b)
	}
}
