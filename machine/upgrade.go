package machine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tenderdev/tender/atomicfile"
	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/iso"
	"github.com/tenderdev/tender/vm"
)

// UpgradeResult says what Upgrade did.
type UpgradeResult struct {
	From     string    // the image version the machine had
	To       iso.Image // the image it boots now
	UpToDate bool      // nothing changed: the machine already had this image
	Up       *UpResult // set when the machine was running and was restarted
}

// Upgrade gives machine name a new boot image: the one at isoPath, or else
// the latest from the machine's iso_url (downloaded into the cache). The
// data disk is not touched, so images, containers and volumes survive. A
// running machine is shut down cleanly first and started again after.
func (s *Store) Upgrade(ctx context.Context, name, isoPath string) (*UpgradeResult, error) {
	m, err := s.Load(name, config.Layer{})
	if err != nil {
		return nil, err
	}
	if err := refuseServer(m, "upgrade", "boots no tender image (upgrade its Docker with its own package manager)"); err != nil {
		return nil, err
	}
	var img iso.Image
	if isoPath != "" {
		img, err = iso.Open(isoPath)
	} else {
		img, err = s.DownloadImage(ctx, m.Settings.ISOURL)
	}
	if err != nil {
		return nil, err
	}
	if img.Version() == "" {
		return nil, fmt.Errorf("%s is not a tender image (its volume ID is %q, not tender-vX.Y.Z); nothing was changed", img.Path, img.VolumeID)
	}
	if img, err = iso.Keep(img, filepath.Join(s.Home, CacheDir)); err != nil {
		return nil, err
	}
	res := &UpgradeResult{From: m.Runtime.ISOVersion, To: img}
	if sameFile(img.Path, m.Settings.ISO) && m.Runtime.ISOVersion == img.Version() {
		res.UpToDate = true
		return res, nil
	}
	state, err := m.driver.State(ctx, m.Spec())
	if err != nil {
		return nil, err
	}
	if state == vm.Saved {
		return nil, fmt.Errorf("machine %q is saved; a saved machine cannot change its image (run `tender up%s` first, then upgrade); nothing was changed", name, NameArg(name))
	}
	running := state.Live()
	if running {
		fmt.Fprintf(s.Progress, "machine %q is running: shutting it down to change its image (the data disk is kept)\n", name)
		if err := s.Down(ctx, name); err != nil {
			return nil, fmt.Errorf("shutting machine %q down for the upgrade: %w; nothing was changed", name, err)
		}
	}
	previous := m.Settings.ISO
	if err := s.setImage(ctx, name, img); err != nil {
		return nil, err
	}
	if !running {
		return res, nil
	}
	up, err := s.Up(ctx, name, config.Layer{})
	if err != nil {
		return nil, fmt.Errorf("machine %q now boots %s but did not come up: %w\n(to go back to the previous image, run `tender upgrade --iso %s%s`)", name, img.Path, err, previous, NameArg(name))
	}
	res.Up = up
	return res, nil
}

// setImage records the new image in machine.yaml (iso:) and state.json.
func (s *Store) setImage(ctx context.Context, name string, img iso.Image) error {
	unlock, err := s.lockExisting(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	dir := s.Dir(name)
	layer, err := config.Load(filepath.Join(dir, MachineFile))
	if err != nil {
		return err
	}
	layer.ISO = &img.Path
	data, err := config.Marshal(layer)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, MachineFile), data, 0o600); err != nil {
		return err
	}
	rt, _ := readRuntime(dir)
	rt.ISOVersion = img.Version()
	return writeRuntime(dir, rt)
}

func sameFile(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}
