//go:build linux

package guest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The Docker engine (dockerd, containerd, the shim, runc, docker-proxy,
// docker-init, the docker CLI) is not in the root image: the ISO carries it
// as one xz archive, smaller than the same files in the squashfs's 1 MiB
// blocks, and the root has symlinks into EngineCurrent in their place. Once
// per engine, on the first boot of a data disk or after an ISO with another
// engine, the agent unpacks the archive onto the data disk; later boots run
// it from plain ext4 (no decompression on page faults; the page cache stays
// reclaimable). Without a data disk there is no docker anyway (no keys).
const (
	EngineArchive  = "/media/tender-iso/tender/engine.tar.xz"
	EngineHashFile = "/media/tender-iso/tender/engine.sha256"
	EngineDir      = TenderDir + "/engine"
	EngineCurrent  = EngineDir + "/current" // a symlink to the unpacked engine's hash
)

// unpackScript unpacks the archive $1 into the directory $2; pipefail makes a
// corrupt archive fail the unpacking, not just a short tar.
const unpackScript = `set -o pipefail; xz -dc -- "$1" | tar -xf - -C "$2"`

var engineHashRE = regexp.MustCompile(`^[0-9a-f]{8,64}$`)

// installEngine makes EngineCurrent point at the ISO's engine, unpacking it
// first if the data disk does not have it. An ISO without an engine archive
// (engine in the root) leaves everything as it is. Unpacking is atomic: into
// a temporary directory, renamed into place; older engines are removed after.
func (a *agent) installEngine(ctx context.Context) error {
	b, err := os.ReadFile(EngineHashFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the engine's hash: %w", err)
	}
	hash := strings.TrimSpace(string(b))
	if !engineHashRE.MatchString(hash) {
		return fmt.Errorf("engine hash %q in %s is not hex", hash, EngineHashFile)
	}
	dir := filepath.Join(EngineDir, hash)
	if _, err := os.Stat(dir); err != nil {
		began := time.Now()
		tmp := filepath.Join(EngineDir, ".unpacking-"+hash)
		if err := os.RemoveAll(tmp); err != nil {
			return err
		}
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", tmp, err)
		}
		// Debian's xz, not busybox's unxz: the archive uses the x86 branch
		// filter and a dictionary larger than busybox decodes.
		if _, err := a.procs.run(ctx, "sh", "-c", unpackScript, "unpack", EngineArchive, tmp); err != nil {
			return fmt.Errorf("unpacking the engine: %w", err)
		}
		if err := syncFS(tmp); err != nil {
			return fmt.Errorf("syncing the engine: %w", err)
		}
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("installing the engine: %w", err)
		}
		a.log.Printf("unpacked engine %s in %s", hash, time.Since(began).Round(100*time.Millisecond))
	}
	if err := replaceSymlink(hash, EngineCurrent); err != nil {
		return fmt.Errorf("selecting the engine: %w", err)
	}
	entries, _ := os.ReadDir(EngineDir)
	for _, e := range entries {
		if n := e.Name(); n != hash && n != filepath.Base(EngineCurrent) {
			if err := os.RemoveAll(filepath.Join(EngineDir, n)); err != nil {
				a.log.Logf("removing old engine %s: %v", n, err)
			}
		}
	}
	return nil
}

// syncFS flushes the filesystem that holds path.
func syncFS(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// replaceSymlink points link at target atomically.
func replaceSymlink(target, link string) error {
	if cur, err := os.Readlink(link); err == nil && cur == target {
		return nil
	}
	tmp := link + ".new"
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, link)
}
