package machine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// lock takes the machine's lock, waiting for another tender holding it. The
// lock is an flock(2), so a tender that was killed holds nothing: a stale
// lock file cannot block anyone.
func (s *Store) lock(ctx context.Context, name string) (unlock func(), err error) {
	dir := filepath.Join(s.Home, LocksDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	fl := flock.New(filepath.Join(dir, name+".lock"))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("locking machine %q: %w", name, err)
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
