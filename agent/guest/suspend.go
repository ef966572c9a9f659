//go:build linux

package guest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/agent/shares"
)

// Before the host saves the machine (tender save), Suspend releases what
// QEMU cannot save: a mounted 9p export blocks its migration. A running
// container that bind-mounts a share would keep the export in use (its
// mount lives in its own namespace) and would lose the folder without a
// word, so Suspend refuses while one runs, naming it, unless force, which
// stops those containers first. Then it unmounts the shares and drops the
// page cache the kernel can give back. After the resume, Resume mounts the
// shares again.

// Suspend readies the guest for a save; see above.
func Suspend(ctx context.Context, force bool, stdout io.Writer) error {
	u, _ := loadUserdata(api.UserdataDir) // no userdata: no shares to release
	targets := make([]string, 0, len(u.Shares))
	for _, sh := range u.Shares {
		targets = append(targets, sh.Target)
	}
	holders, err := shareHolders(ctx, targets)
	if err != nil {
		return err
	}
	if len(holders) > 0 {
		names := make([]string, len(holders))
		for i, h := range holders {
			names[i] = h.name
		}
		if !force {
			return fmt.Errorf("containers %s bind-mount a shared folder, which a save cannot keep: stop them, or save with --force to stop them", strings.Join(names, ", "))
		}
		for _, h := range holders {
			code, body, err := dockerCall(ctx, 30*time.Second, "POST", "/containers/"+h.id+"/stop?t=10")
			if err == nil && code != 204 && code != 304 {
				err = fmt.Errorf("status %d: %s", code, bytes.TrimSpace(body))
			}
			if err != nil {
				return fmt.Errorf("stopping container %s: %w", h.name, err)
			}
			fmt.Fprintf(stdout, "stopped container %s (it bind-mounts a shared folder)\n", h.name)
		}
	}
	mounted := mountedTargets()
	for _, t := range targets {
		if !mounted[t] {
			continue
		}
		if err := unix.Unmount(t, 0); err != nil {
			return fmt.Errorf("unmounting the shared folder %s: %w (a process in the guest uses it: leave it, or save with `tender down`)", t, err)
		}
	}
	unix.Sync()
	_ = os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0o200)
	return nil
}

// Resume mounts the shares that are not mounted: after a resume, or after
// a save that did not happen.
func Resume(ctx context.Context, logf func(string, ...any)) error {
	u, _ := loadUserdata(api.UserdataDir) // what it could read: the shares
	mounted := mountedTargets()
	var todo []api.Share
	for _, sh := range u.Shares {
		if !mounted[sh.Target] {
			todo = append(todo, sh)
		}
	}
	return shares.Mount(ctx, todo, logf)
}

// mountedTargets is the set of mount points now.
func mountedTargets() map[string]bool {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	m := map[string]bool{}
	for _, e := range parseMountinfo(f) {
		m[e.target] = true
	}
	return m
}

type holder struct{ id, name string }

// shareHolders lists the running containers with a bind mount from inside
// one of targets.
func shareHolders(ctx context.Context, targets []string) ([]holder, error) {
	if len(targets) == 0 {
		return nil, nil
	}
	code, body, err := dockerCall(ctx, 10*time.Second, "GET", "/containers/json")
	if errors.Is(err, os.ErrNotExist) || (err != nil && !pingDocker(ctx)) {
		return nil, nil // no engine: no containers
	}
	if err == nil && code != 200 {
		err = fmt.Errorf("status %d: %s", code, bytes.TrimSpace(body))
	}
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	return holdersOf(body, targets)
}

// holdersOf reads /containers/json.
func holdersOf(body []byte, targets []string) ([]holder, error) {
	type mount struct {
		Type   string `json:"Type"`
		Source string `json:"Source"`
	}
	var list []struct {
		ID     string   `json:"Id"`
		Names  []string `json:"Names"`
		Mounts []mount  `json:"Mounts"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	var out []holder
	for _, c := range list {
		if !slices.ContainsFunc(c.Mounts, func(m mount) bool {
			return m.Type == "bind" && under(m.Source, targets)
		}) {
			continue
		}
		name := c.ID
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, holder{id: c.ID, name: name})
	}
	return out, nil
}

// under reports whether path is one of dirs or inside one.
func under(path string, dirs []string) bool {
	path = filepath.Clean(path)
	for _, d := range dirs {
		d = filepath.Clean(d)
		if path == d || strings.HasPrefix(path, d+"/") || d == "/" {
			return true
		}
	}
	return false
}
