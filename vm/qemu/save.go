package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tenderdev/tender/atomicfile"
	"github.com/tenderdev/tender/shellquote"
	"github.com/tenderdev/tender/vm"
)

// A saved machine is its QEMU's migration stream in StateFile, with
// StateMetaFile saying which QEMU, image and devices wrote it. Save writes
// the stream to StateTempFile and renames it once QEMU reports the
// migration completed, so a save cut short leaves no file a later Start
// would load. Start moves StateFile to StateLoadingFile before QEMU reads
// it, so a resumed machine, whose disk then moves on, can never be resumed
// from it again.
const (
	StateFile        = "qemu.state"
	StateTempFile    = "qemu.state.partial"
	StateLoadingFile = "qemu.state.loading"
	StateMetaFile    = "qemu.state.json"
	// BootFile records what the running QEMU was started with (a
	// Fingerprint); Save keeps it as StateMetaFile.
	BootFile = "qemu.boot.json"
)

// Fingerprint is what a migration stream must be loaded into: the same QEMU
// program, the same image and the same devices. Start compares the saved
// one with the machine's now and boots cold when they differ.
type Fingerprint struct {
	QEMU      string   `json:"qemu"`       // path, size and modification time
	ISO       string   `json:"iso"`        // path, size and modification time
	Arch      string   `json:"arch"`       // the guest's
	Accel     Accel    `json:"accel"`      // tcg and kvm streams differ
	CPUs      int      `json:"cpus"`       //
	MemoryMiB int      `json:"memory_mib"` //
	Shares    []string `json:"shares"`     // tag:9p or tag:virtiofs, in order
	MAC       string   `json:"mac"`        // the tender network NIC's, or ""
	// Stream is how the saved stream is stored: StreamRaw or StreamZstd
	// (StateMetaFile only; it does not bind the machine).
	Stream string `json:"stream,omitempty"`
}

// fileID names a file by path, size and modification time: a rebuilt ISO or
// an upgraded QEMU gives another.
func fileID(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return path + " (missing)"
	}
	return fmt.Sprintf("%s %d %d", path, fi.Size(), fi.ModTime().UnixNano())
}

// fingerprint is what Start would run s with on host.
func fingerprint(s vm.Spec, host Host, argv0 string) Fingerprint {
	prog := argv0
	if p, err := exec.LookPath(argv0); err == nil {
		prog = p
	}
	arch := s.Arch
	if arch == "" {
		arch = host.GOARCH
	}
	f := Fingerprint{QEMU: fileID(prog), ISO: fileID(s.ISO), Arch: arch, CPUs: s.CPUs, MemoryMiB: s.MemoryMiB, Shares: []string{}}
	if garch, err := guestArch(arch); err == nil {
		f.Accel = effectiveAccel(garch, host)
	}
	for _, sh := range s.Shares {
		typ := Share9p
		if usesVirtiofs(sh, host) {
			typ = ShareVirtiofs
		}
		f.Shares = append(f.Shares, sh.Tag+":"+typ)
	}
	if s.Network != nil {
		f.MAC = s.Network.MAC
	}
	return f
}

func readFingerprint(path string) (Fingerprint, error) {
	var f Fingerprint
	b, err := os.ReadFile(path)
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return f, nil
}

func (f Fingerprint) equal(g Fingerprint) bool {
	return f.QEMU == g.QEMU && f.ISO == g.ISO && f.Arch == g.Arch && f.Accel == g.Accel &&
		f.CPUs == g.CPUs && f.MemoryMiB == g.MemoryMiB && slices.Equal(f.Shares, g.Shares) && f.MAC == g.MAC
}

// differences names what changed between a saved fingerprint and now, for
// the warning.
func (f Fingerprint) differences(now Fingerprint) string {
	var d []string
	add := func(what string, a, b any) {
		if fmt.Sprint(a) != fmt.Sprint(b) {
			d = append(d, what)
		}
	}
	add("QEMU", f.QEMU, now.QEMU)
	add("image", f.ISO, now.ISO)
	add("arch", f.Arch, now.Arch)
	add("accelerator", f.Accel, now.Accel)
	add("cpus", f.CPUs, now.CPUs)
	add("memory", f.MemoryMiB, now.MemoryMiB)
	add("shares", f.Shares, now.Shares)
	add("network", f.MAC, now.MAC)
	if len(d) == 0 {
		return "nothing"
	}
	return fmt.Sprint(d)
}

var _ vm.Saver = (*Driver)(nil)

// SaveTimeout bounds how long Save waits for QEMU to write the state.
const SaveTimeout = 5 * time.Minute

// CanSave refuses a machine QEMU was started for in a way it cannot save:
// with a virtiofs share, or by a tender that did not record how.
func (d *Driver) CanSave(s vm.Spec) error {
	_, err := saveable(s)
	return err
}

// saveable is how QEMU was started, when a save can keep that.
func saveable(s vm.Spec) (Fingerprint, error) {
	boot, err := readFingerprint(filepath.Join(s.Dir, BootFile))
	if err != nil {
		return boot, fmt.Errorf("machine %q was started by an older tender, which did not record how: run `tender down` and `tender up` once, then save: %w", s.Name, err)
	}
	if slices.ContainsFunc(boot.Shares, func(sh string) bool { return strings.HasSuffix(sh, ":"+ShareVirtiofs) }) {
		return boot, fmt.Errorf("machine %q shares folders with virtiofs, which QEMU cannot save (vhost-user-fs is not migratable): set `share_type: 9p` (or `down_action: save`, which chooses 9p) and restart it, or use `tender down`", s.Name)
	}
	return boot, nil
}

// Save writes the running machine's state to StateFile and ends QEMU; the
// next Start resumes it. The guest must have released its shares first
// (a mounted 9p export blocks the migration: QEMU says so, and Save
// returns that). The VM is paused for the migration; on any failure it
// runs again as it was. A Save killed half-way leaves QEMU paused with
// StateTempFile beside it: the next Start (see resumePaused) lets it run
// again and removes the file.
func (d *Driver) Save(ctx context.Context, s vm.Spec) error {
	if _, err := d.runningPid(s); err != nil {
		return err
	}
	boot, err := saveable(s)
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.Dir, StateTempFile)
	os.Remove(tmp)
	call := func(cmd string, args any) ([]byte, error) { return d.qmp(ctx, s, cmd, args) }
	undo := func() {
		_, _ = d.qmp(context.WithoutCancel(ctx), s, "migrate_cancel", nil)
		_, _ = d.qmp(context.WithoutCancel(ctx), s, "cont", nil)
		os.Remove(tmp)
	}
	// No bandwidth cap (QEMU's default is 128 MiB/s): the VM is paused, so
	// one pass writes each page once, as fast as the disk takes it.
	if _, err := call("migrate-set-parameters", map[string]any{"max-bandwidth": int64(1) << 40}); err != nil {
		return err
	}
	if _, err := call("stop", nil); err != nil {
		return err
	}
	uri := "exec:cat > " + shellquote.Quote(tmp)
	if len(d.StreamFilter) > 0 {
		boot.Stream = StreamZstd
		uri = "exec:" + d.filter("compress") + " > " + shellquote.Quote(tmp)
	}
	if _, err := call("migrate", map[string]string{"uri": uri}); err != nil {
		undo()
		return fmt.Errorf("saving %q: %w", s.Name, err)
	}
	if err := d.waitMigration(ctx, s); err != nil {
		undo()
		return fmt.Errorf("saving %q: %w", s.Name, err)
	}
	// cat has written and closed the stream; make it durable before it
	// becomes the machine's state.
	if f, err := os.Open(tmp); err == nil {
		err = f.Sync()
		f.Close()
		if err != nil {
			undo()
			return fmt.Errorf("saving %q: %w", s.Name, err)
		}
	}
	if err := atomicfile.WriteFunc(filepath.Join(s.Dir, StateMetaFile), 0o600, func(w *os.File) error {
		return json.NewEncoder(w).Encode(boot)
	}); err != nil {
		undo()
		return err
	}
	if err := os.Rename(tmp, filepath.Join(s.Dir, StateFile)); err != nil {
		undo()
		return err
	}
	_ = atomicfile.SyncDir(s.Dir)
	// The state is kept: from here the machine is saved, whatever QEMU
	// does on its way out.
	return d.Stop(context.WithoutCancel(ctx), s, true)
}

// waitMigration polls query-migrate until the migration completed.
func (d *Driver) waitMigration(ctx context.Context, s vm.Spec) error {
	ctx, cancel := context.WithTimeout(ctx, SaveTimeout)
	defer cancel()
	for {
		raw, err := d.qmp(ctx, s, "query-migrate", nil)
		if err != nil {
			return err
		}
		var st struct {
			Status    string `json:"status"`
			ErrorDesc string `json:"error-desc"`
		}
		if err := json.Unmarshal(raw, &st); err != nil {
			return fmt.Errorf("query-migrate: %w", err)
		}
		switch st.Status {
		case "completed":
			return nil
		case "failed", "cancelled":
			return fmt.Errorf("QEMU's migration %s: %s", st.Status, st.ErrorDesc)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("QEMU did not finish writing the state: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Saved reports whether the machine has a saved state to resume.
func savedState(s vm.Spec) bool {
	_, err := os.Stat(filepath.Join(s.Dir, StateFile))
	return err == nil
}

// DiscardState removes a saved state, so the next Start boots cold.
func (d *Driver) DiscardState(s vm.Spec) error {
	var errs []error
	for _, f := range []string{StateFile, StateMetaFile, StateTempFile, StateLoadingFile} {
		if err := os.Remove(filepath.Join(s.Dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// StateSize is the size of the saved state file, 0 when there is none.
func (d *Driver) StateSize(s vm.Spec) int64 {
	fi, err := os.Stat(filepath.Join(s.Dir, StateFile))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// incoming decides how Start boots a saved machine: the -incoming URI and
// the path of the stream to load (moved to StateLoadingFile), or "" to boot
// cold, with the reason
// for the user when a state was there but cannot be used.
func (d *Driver) incoming(s vm.Spec, now Fingerprint) (uri, path, warning string) {
	state := filepath.Join(s.Dir, StateFile)
	if _, err := os.Stat(state); err != nil {
		return "", "", ""
	}
	discard := func(why string) (string, string, string) {
		_ = d.DiscardState(s)
		return "", "", discardWarning(s.Name, why)
	}
	saved, err := readFingerprint(filepath.Join(s.Dir, StateMetaFile))
	if err != nil {
		return discard("its description is missing or damaged")
	}
	if !saved.equal(now) {
		return discard("changed since the save: " + saved.differences(now))
	}
	uri = "exec:cat " + shellquote.Quote(filepath.Join(s.Dir, StateLoadingFile))
	switch {
	case saved.Stream == StreamZstd && len(d.StreamFilter) == 0:
		return discard("it is compressed, and this tender has no way to read it")
	case saved.Stream == StreamZstd:
		uri = "exec:" + d.filter("decompress") + " < " + shellquote.Quote(filepath.Join(s.Dir, StateLoadingFile))
	case saved.Stream != StreamRaw:
		return discard("it is stored as " + saved.Stream + ", which this tender cannot read")
	}
	loading := filepath.Join(s.Dir, StateLoadingFile)
	if err := os.Rename(state, loading); err != nil {
		return discard(err.Error())
	}
	return uri, loading, ""
}

// filter is the shell command of StreamFilter with verb.
func (d *Driver) filter(verb string) string {
	words := make([]string, 0, len(d.StreamFilter)+1)
	for _, w := range append(slices.Clone(d.StreamFilter), verb) {
		words = append(words, shellquote.Quote(w))
	}
	return strings.Join(words, " ")
}

// waitResumed waits for QEMU to load the stream and lets the guest run;
// it fails when QEMU gave up on it (it exits) or stopped in another state.
func (d *Driver) waitResumed(ctx context.Context, s vm.Spec) error {
	ctx, cancel := context.WithTimeout(ctx, SaveTimeout)
	defer cancel()
	for {
		if _, err := d.runningPid(s); err != nil {
			return errors.New("QEMU could not load it and exited")
		}
		status, err := d.queryStatus(ctx, s)
		if err == nil {
			switch status {
			case "running":
				return nil
			case "inmigrate", "prelaunch":
			case "paused", "postmigrate":
				// Loaded: Save paused the VM before writing it, and that
				// is how it comes back.
				if _, err := d.qmp(ctx, s, "cont", nil); err != nil {
					return fmt.Errorf("QEMU loaded it but would not run the guest: %w", err)
				}
			default:
				return fmt.Errorf("QEMU is %s after loading it", status)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("QEMU did not load it in %s", SaveTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// resumePaused lets a machine run that a Save cut short left paused, and
// removes what that Save wrote: with the guest running again, a state file
// (even a complete one, if Save was killed between its rename and QEMU's
// exit) no longer matches the disk. The caller holds the machine lock, so
// no Save is under way.
func (d *Driver) resumePaused(ctx context.Context, s vm.Spec) {
	status, err := d.queryStatus(ctx, s)
	if err != nil {
		return
	}
	if status != "running" {
		_, _ = d.qmp(ctx, s, "migrate_cancel", nil)
		_, _ = d.qmp(ctx, s, "cont", nil)
	}
	_ = d.DiscardState(s)
}

// queryStatus is QEMU's run state: running, paused, inmigrate, ...
func (d *Driver) queryStatus(ctx context.Context, s vm.Spec) (string, error) {
	raw, err := d.qmp(ctx, s, "query-status", nil)
	if err != nil {
		return "", err
	}
	return parseStatus(raw)
}

// QueryStatus is the run state of the QEMU whose monitor listens at
// network/addr, for the tools that start QEMU themselves (test/kvmprobe).
func QueryStatus(ctx context.Context, network, addr string) (string, error) {
	raw, err := qmpRun(ctx, network, addr, "query-status", nil)
	if err != nil {
		return "", err
	}
	return parseStatus(raw)
}

// parseStatus reads query-status's reply.
func parseStatus(raw []byte) (string, error) {
	var st struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return "", fmt.Errorf("query-status: %w", err)
	}
	return st.Status, nil
}

// discardWarning is the one line a user gets when a saved state is dropped.
func discardWarning(name, why string) string {
	return fmt.Sprintf("warning: the saved state of %q cannot be resumed (%s); it was discarded and the machine boots afresh, its disk intact", name, why)
}

// writeBootFile records what QEMU is being started with.
func writeBootFile(s vm.Spec, f Fingerprint) error {
	return atomicfile.WriteFunc(filepath.Join(s.Dir, BootFile), 0o600, func(w *os.File) error {
		return json.NewEncoder(w).Encode(f)
	})
}
