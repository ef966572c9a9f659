package machine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gofrs/flock"

	"github.com/tenderdev/tender/config"
)

// unwritableHome explains a failure to write under TENDER_HOME.
func unwritableHome(home string, err error) error {
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return fmt.Errorf("cannot write to TENDER_HOME %s (%w): make it writable, or point TENDER_HOME at a writable directory", home, err)
	}
	return err
}

// caLockName is the lock held while the CA is read or made; no machine can
// be called that (names start with a letter or digit).
const caLockName = ".ca"

// lockExisting takes the lock of a machine that exists; for any other name
// it returns Load's "does not exist" error and leaves no lock file behind.
func (s *Store) lockExisting(ctx context.Context, name string) (unlock func(), err error) {
	if err := config.ValidateName(name); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(s.Dir(name), MachineFile)); err != nil {
		return nil, notExistError(name)
	}
	return s.lock(ctx, name)
}

// lock takes the machine's lock, waiting for another tender holding it. The
// lock is an flock(2), so a tender that was killed holds nothing: a stale
// lock file cannot block anyone.
func (s *Store) lock(ctx context.Context, name string) (unlock func(), err error) {
	dir := filepath.Join(s.Home, LocksDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, unwritableHome(s.Home, err)
	}
	fl := flock.New(filepath.Join(dir, name+".lock"))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, unwritableHome(s.Home, fmt.Errorf("locking machine %q: %w", name, err))
	}
	if !ok {
		fmt.Fprintf(s.Progress, "waiting for another tender working on machine %q…\n", name)
		ok, err = fl.TryLockContext(ctx, 100*time.Millisecond)
		if err != nil || !ok {
			return nil, fmt.Errorf("waiting for the lock on machine %q: %w", name, err)
		}
	}
	return func() { _ = fl.Unlock() }, nil
}
