package machine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/tenderdev/tender/agent/userdata"
	"github.com/tenderdev/tender/atomicfile"
	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/iso"
	"github.com/tenderdev/tender/provision"
	"github.com/tenderdev/tender/vm"
)

// Init creates machine name: settings, keys, certificates, the data disk and
// the driver's VM. It is all or nothing: the machine is assembled in a
// temporary directory and renamed into place last, so a failure or an
// interrupt leaves no machine behind.
func (s *Store) Init(ctx context.Context, name string, flags config.Layer) (*Machine, error) {
	if err := config.ValidateName(name); err != nil {
		return nil, err
	}
	dir := s.Dir(name)
	exists := func() error {
		if _, err := os.Stat(dir); err == nil {
			return fmt.Errorf("machine %q already exists; nothing was changed (start it with `tender up%s`, or remove it with `tender delete%s`)", name, NameArg(name), NameArg(name))
		}
		return nil
	}
	// Everything that can be refused is checked before anything is
	// written, even the lock file.
	if err := exists(); err != nil {
		return nil, err
	}
	srcs, err := s.sources("", flags)
	if err != nil {
		return nil, err
	}
	settings, err := config.Resolve(srcs...)
	if err != nil {
		return nil, err
	}
	image, err := iso.Find(settings.ISO, filepath.Join(s.Home, CacheDir), settings.Arch)
	if err != nil && settings.ISO == "" {
		image, err = s.downloadImage(ctx, settings.ISOURL, err)
	}
	if err != nil {
		return nil, err
	}
	settings.ISO = image.Path
	if msg := vm.ForeignArchWarning(settings.Arch, runtime.GOARCH); msg != "" {
		fmt.Fprintln(s.Progress, msg)
	}
	drv, err := s.Drivers(settings)
	if err != nil {
		return nil, err
	}
	if pf, ok := drv.(vm.Preflighter); ok {
		spec := (&Machine{Name: name, Dir: dir, Settings: settings}).Spec()
		if err := pf.Preflight(ctx, spec); err != nil {
			return nil, err
		}
	}
	if err := s.pauseAt(ctx, "init-checked"); err != nil {
		return nil, fmt.Errorf("init interrupted; nothing was created: %w", err)
	}
	unlock, err := s.lock(ctx, name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := exists(); err != nil { // another init made it while we waited
		return nil, err
	}
	ca, err := s.loadOrCreateCA()
	if err != nil {
		return nil, err
	}

	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return nil, unwritableHome(s.Home, fmt.Errorf("creating %s: %w", filepath.Dir(dir), err))
	}
	// A temporary directory of an init that was killed (kill -9 cannot be
	// cleaned up after) is ours to remove: we hold the lock on the name.
	if stale, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".init-"+name+"-*")); len(stale) > 0 {
		for _, d := range stale {
			os.RemoveAll(d)
		}
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".init-"+name+"-")
	if err != nil {
		return nil, fmt.Errorf("creating the machine directory: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o700); err != nil {
		return nil, err
	}

	fmt.Fprintf(s.Progress, "creating machine %q: keys and certificates…\n", name)
	if err := writeCredentials(tmp, name, ca); err != nil {
		return nil, err
	}
	if err := s.pauseAt(ctx, "init-credentials"); err != nil {
		return nil, fmt.Errorf("init interrupted; nothing was created: %w", err)
	}
	fmt.Fprintf(s.Progress, "creating machine %q: %d MiB data disk…\n", name, settings.DiskSizeMiB)
	ud, err := readUserdata(tmp, name, settings, shareType(drv))
	if err != nil {
		return nil, err
	}
	m := &Machine{Name: name, Dir: tmp, Settings: settings, Runtime: Runtime{Driver: drv.Name(), ISOVersion: image.Version()}, Driver: drv}
	size := int64(settings.DiskSizeMiB) << 20
	if dc, ok := drv.(vm.DiskCreator); ok {
		stream, err := provision.UserdataStream(ud, size)
		if err != nil {
			return nil, err
		}
		if err := dc.CreateDisk(ctx, m.Spec(), stream, size); err != nil {
			return nil, err
		}
	} else if err := provision.CreateDataDisk(filepath.Join(tmp, DiskFile), size, ud); err != nil {
		return nil, err
	}
	if err := s.pauseAt(ctx, "init-disk"); err != nil {
		return nil, fmt.Errorf("init interrupted; nothing was created: %w", err)
	}
	// machine.yaml keeps what was asked for at init, so that later changes to
	// config.yaml do not move an existing machine under its user's feet.
	layer := config.Merge(srcs[0], srcs[1])
	layer.ISO = &image.Path
	if settings.Driver == "auto" && slices.Contains(config.Drivers, drv.Name()) {
		// Keep the driver auto chose, so installing the other hypervisor
		// later does not move the machine.
		name := drv.Name()
		layer.Driver = &name
	}
	data, err := config.Marshal(layer)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(filepath.Join(tmp, MachineFile), data, 0o600); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("init interrupted; nothing was created: %w", err)
	}

	if err := writeRuntime(tmp, m.Runtime); err != nil {
		return nil, err
	}
	// The directory gets its final name before the driver registers
	// anything, because hypervisors record paths (VirtualBox's basefolder).
	if err := os.Rename(tmp, dir); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	done = true
	m.Dir = dir
	// From here the machine is complete: an interrupt no longer undoes it.
	_ = s.pauseAt(ctx, "init-renamed")
	if err := drv.Create(ctx, m.Spec()); err != nil {
		cleanup := context.WithoutCancel(ctx)
		_ = drv.Delete(cleanup, m.Spec())
		os.RemoveAll(dir)
		return nil, err
	}
	return m, nil
}

// loadOrCreateCA returns the CA shared by every machine under TENDER_HOME,
// making it on first use. Its key never leaves the host.
func (s *Store) loadOrCreateCA() (*provision.CA, error) {
	// Two inits of different machines must not both make a CA.
	unlock, err := s.lock(context.Background(), caLockName)
	if err != nil {
		return nil, err
	}
	defer unlock()
	dir := filepath.Join(s.Home, CADir)
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	certPEM, errC := os.ReadFile(certPath)
	keyPEM, errK := os.ReadFile(keyPath)
	if errC == nil && errK == nil {
		ca, err := provision.LoadCA(provision.KeyPair{CertPEM: certPEM, KeyPEM: keyPEM})
		if err != nil {
			return nil, fmt.Errorf("the CA in %s is damaged (%v): move the directory away to make a new one, then run `tender regenerate-certs --client` on each machine", dir, err)
		}
		return ca, nil
	}
	if !errors.Is(errC, os.ErrNotExist) || !errors.Is(errK, os.ErrNotExist) {
		return nil, fmt.Errorf("the CA in %s is incomplete: move the directory away to make a new one", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ca, err := provision.NewCA("tender CA")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(keyPath, ca.KeyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(certPath, ca.CertPEM, 0o644); err != nil {
		return nil, err
	}
	return ca, nil
}

// writeCredentials makes the SSH identity, the guest's host key (pinned in
// known_hosts before the guest ever boots), and the TLS material.
func writeCredentials(dir, name string, ca *provision.CA) error {
	alias := hostAlias(name)
	id, err := provision.NewSSHKey("tender@" + alias)
	if err != nil {
		return err
	}
	hostKey, err := provision.NewSSHKey("root@" + alias)
	if err != nil {
		return err
	}
	hostPub, _, _, _, err := ssh.ParseAuthorizedKey(hostKey.Public)
	if err != nil {
		return err
	}
	client, err := ca.IssueClient("tender client " + name)
	if err != nil {
		return err
	}
	server, err := ca.IssueServer(alias)
	if err != nil {
		return err
	}
	certs := filepath.Join(dir, ClientCerts)
	if err := os.MkdirAll(certs, 0o700); err != nil {
		return err
	}
	files := []struct {
		path string
		data []byte
		perm os.FileMode
	}{
		{filepath.Join(dir, SSHKey), id.PrivatePEM, 0o600},
		{filepath.Join(dir, SSHPubKey), id.Public, 0o644},
		{filepath.Join(dir, GuestHostPrivKey), hostKey.PrivatePEM, 0o600},
		{filepath.Join(dir, GuestHostKey), hostKey.Public, 0o644},
		{filepath.Join(certs, CACertFile), ca.CertPEM, 0o644},
		{filepath.Join(certs, ClientCert), client.CertPEM, 0o644},
		{filepath.Join(certs, ClientKey), client.KeyPEM, 0o600},
		{filepath.Join(dir, ServerCert), server.CertPEM, 0o644},
		{filepath.Join(dir, ServerKey), server.KeyPEM, 0o600},
	}
	for _, f := range files {
		if err := atomicfile.Write(f.path, f.data, f.perm); err != nil {
			return err
		}
	}
	return provision.WriteKnownHosts(filepath.Join(dir, KnownHosts), alias, hostPub)
}

// readUserdata gathers what the guest needs from the files writeCredentials made.
func readUserdata(dir, name string, s config.Settings, shareType string) (userdata.Userdata, error) {
	read := func(parts ...string) []byte {
		data, _ := os.ReadFile(filepath.Join(append([]string{dir}, parts...)...))
		return data
	}
	u := userdata.Userdata{
		Hostname:       hostAlias(name),
		AuthorizedKeys: read(SSHPubKey),
		SSHHostKey:     read(GuestHostPrivKey),
		CACert:         read(ClientCerts, CACertFile),
		ServerCert:     read(ServerCert),
		ServerKey:      read(ServerKey),
	}
	for i, sh := range s.Shares {
		u.Shares = append(u.Shares, userdata.Share{Type: shareType, Tag: shareTag(i), Target: sh.Guest, ReadOnly: sh.ReadOnly})
	}
	return u, u.Validate()
}

// shareType is how the guest mounts the driver's shares.
func shareType(d vm.Driver) string {
	if st, ok := d.(vm.ShareTyper); ok {
		return st.ShareType()
	}
	return "9p"
}

func shareTag(i int) string { return fmt.Sprintf("share%d", i) }

// hostAlias is the machine's name as a host: the guest's hostname, the SSH
// host alias and the docker context's name.
func hostAlias(name string) string {
	return "tender-" + strings.ToLower(name)
}
