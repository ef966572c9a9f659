package machine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/atomicfile"
	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/iso"
	"github.com/tenderdev/tender/network"
	"github.com/tenderdev/tender/provision"
	"github.com/tenderdev/tender/vm"
)

// InitOptions are what init takes besides the settings.
type InitOptions struct {
	// Network puts the machine on this tender network, creating the network
	// when it does not exist; "" for none.
	Network string
	// InstallDocker installs the distribution's Docker on a server (driver
	// ssh) that has none.
	InstallDocker bool
}

// Init creates machine name: settings, keys, certificates, the data disk and
// the driver's VM. It is all or nothing: the machine is assembled in a
// temporary directory and renamed into place last, so a failure or an
// interrupt leaves no machine behind.
func (s *Store) Init(ctx context.Context, name string, flags config.Layer) (*Machine, error) {
	return s.InitWith(ctx, name, flags, InitOptions{})
}

// InitWith is Init with options.
func (s *Store) InitWith(ctx context.Context, name string, flags config.Layer, opts InitOptions) (*Machine, error) {
	if err := config.ValidateName(name); err != nil {
		return nil, err
	}
	if opts.Network != "" {
		if err := network.ValidateName(opts.Network); err != nil {
			return nil, fmt.Errorf("--network: %w", err)
		}
	}
	dir := s.Dir(name)
	// Everything that can be refused is checked before anything is
	// written, even the lock file.
	if err := refuseExisting(name, dir); err != nil {
		return nil, err
	}
	srcs, err := s.sources("", flags)
	if err != nil {
		return nil, err
	}
	if settings, err := config.Resolve(srcs...); err == nil && settings.Driver == config.DriverSSH {
		return s.initServer(ctx, name, dir, srcs, settings, opts)
	}
	settings, image, err := s.resolveWithImage(ctx, srcs)
	if err != nil {
		return nil, err
	}
	drv, err := s.preflightDriver(ctx, name, dir, settings)
	if err != nil {
		return nil, err
	}
	// The machine boots tender's own copy of the image, not a build
	// tree's, which may be cleaned or rebuilt.
	if image, err = iso.Keep(image, filepath.Join(s.Home, CacheDir)); err != nil {
		return nil, err
	}
	settings.ISO = image.Path
	if err := s.pauseAt(ctx, "init-checked"); err != nil {
		return nil, fmt.Errorf("init interrupted; nothing was created: %w", err)
	}
	a, err := s.assemble(ctx, name, dir)
	if err != nil {
		return nil, err
	}
	defer a.close()
	tmp := a.tmp

	fmt.Fprintf(s.Progress, "creating machine %q: keys and certificates…\n", name)
	if err := writeCredentials(tmp, name, a.ca); err != nil {
		return nil, err
	}
	if err := s.pauseAt(ctx, "init-credentials"); err != nil {
		return nil, fmt.Errorf("init interrupted; nothing was created: %w", err)
	}
	fmt.Fprintf(s.Progress, "creating machine %q: %d MiB data disk…\n", name, settings.DiskSizeMiB)
	m := &Machine{Name: name, Dir: tmp, Settings: settings, Runtime: Runtime{Driver: drv.Name(), ISOVersion: image.Version(), DiskSizeMiB: settings.DiskSizeMiB}, driver: drv}
	if err := createDataDisk(ctx, drv, m); err != nil {
		return nil, err
	}
	if err := s.pauseAt(ctx, "init-disk"); err != nil {
		return nil, fmt.Errorf("init interrupted; nothing was created: %w", err)
	}
	if err := writeMachineFile(tmp, image.Path, settings, drv.Name()); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("init interrupted; nothing was created: %w", err)
	}

	if err := writeRuntime(tmp, m.Runtime); err != nil {
		return nil, err
	}
	undoNetwork := func() {}
	if opts.Network != "" {
		att, undo, err := s.joinNetwork(ctx, name, tmp, opts.Network)
		if err != nil {
			return nil, err
		}
		defer func() {
			if !a.placed {
				undo()
			}
		}()
		m.Network, undoNetwork = att, undo
	}
	// The directory gets its final name before the driver registers
	// anything, because hypervisors record paths (VirtualBox's basefolder).
	if err := a.place(dir); err != nil {
		return nil, err
	}
	m.Dir = dir
	// From here the machine is complete: an interrupt no longer undoes it.
	_ = s.pauseAt(ctx, "init-renamed")
	if err := createVM(ctx, drv, m.Spec(), dir); err != nil {
		undoNetwork()
		return nil, err
	}
	return m, nil
}

// assembly is a machine being made: the lock on its name, tender's CA, and
// the private temporary directory it is put together in, renamed into
// place last, so that a failure or an interrupt leaves no machine behind.
type assembly struct {
	tmp    string
	ca     *provision.CA
	placed bool
	unlock func()
}

// assemble takes the lock on name, checks again that no other init made
// it while we waited, and makes the temporary directory. The caller defers
// close.
func (s *Store) assemble(ctx context.Context, name, dir string) (*assembly, error) {
	unlock, err := s.lock(ctx, name)
	if err != nil {
		return nil, err
	}
	a := &assembly{unlock: unlock}
	if err = refuseExisting(name, dir); err == nil {
		if a.ca, err = s.loadOrCreateCA(); err == nil {
			a.tmp, err = s.makeTempMachineDir(name, dir)
		}
	}
	if err != nil {
		unlock()
		return nil, err
	}
	return a, nil
}

// place renames the assembled machine to its directory, dir.
func (a *assembly) place(dir string) error {
	if err := os.Rename(a.tmp, dir); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	a.placed = true
	return nil
}

// close removes an assembly that was not placed and releases the lock.
func (a *assembly) close() {
	if !a.placed {
		os.RemoveAll(a.tmp)
	}
	a.unlock()
}

// halfMade reports whether dir, a machine's directory, holds no
// machine.yaml: not a machine (init makes a machine whole, under another
// name, before it takes its name), but in the way of one.
func halfMade(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, MachineFile))
	return errors.Is(err, fs.ErrNotExist)
}

// refuseExisting says, when machine name already has its directory, that
// init changes nothing and how to use or remove that machine.
func refuseExisting(name, dir string) error {
	if _, err := os.Stat(dir); err == nil {
		if halfMade(dir) {
			return fmt.Errorf("machine %q is half-made (%s has no %s); nothing was changed: remove it with `tender delete%s`, then init again", name, dir, MachineFile, NameArg(name))
		}
		return fmt.Errorf("machine %q already exists; nothing was changed (start it with `tender up%s`, or remove it with `tender delete%s`)", name, NameArg(name), NameArg(name))
	}
	return nil
}

// resolveWithImage resolves the settings from srcs and finds the image they
// name, or, when they name none and none is cached, downloads it. The
// settings it returns carry the image's path.
func (s *Store) resolveWithImage(ctx context.Context, srcs []config.Source) (config.Settings, iso.Image, error) {
	settings, err := config.Resolve(srcs...)
	if err != nil {
		return config.Settings{}, iso.Image{}, err
	}
	image, err := iso.Find(settings.ISO, filepath.Join(s.Home, CacheDir), settings.Arch)
	if err != nil && settings.ISO == "" {
		image, err = s.downloadImage(ctx, settings.ISOURL, err)
	}
	if err != nil {
		return config.Settings{}, iso.Image{}, err
	}
	settings.ISO = image.Path
	return settings, image, nil
}

// preflightDriver warns when the guest's arch is to be emulated, picks the
// driver for settings and, when it can, has it check that Create and Start
// will work.
func (s *Store) preflightDriver(ctx context.Context, name, dir string, settings config.Settings) (vm.Driver, error) {
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
	return drv, nil
}

// makeTempMachineDir makes the private temporary directory, beside dir,
// that Init assembles machine name in, first removing those of inits that
// were killed.
func (s *Store) makeTempMachineDir(name, dir string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return "", unwritableHome(s.Home, fmt.Errorf("creating %s: %w", filepath.Dir(dir), err))
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
		return "", fmt.Errorf("creating the machine directory: %w", err)
	}
	if err := os.Chmod(tmp, 0o700); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return tmp, nil
}

// createDataDisk writes the data disk of m, which starts with the userdata
// made from the credentials in m.Dir: in the driver's own format when it has
// one (vm.DiskCreator), else as a raw sparse file.
func createDataDisk(ctx context.Context, drv vm.Driver, m *Machine) error {
	ud, err := readUserdata(m.Dir, m.Name, m.Settings, shareType(drv))
	if err != nil {
		return err
	}
	size := int64(m.Settings.DiskSizeMiB) << 20
	if dc, ok := drv.(vm.DiskCreator); ok {
		stream, err := provision.UserdataStream(ud, size)
		if err != nil {
			return err
		}
		return dc.CreateDisk(ctx, m.Spec(), stream, size)
	}
	return provision.CreateDataDisk(filepath.Join(m.Dir, DiskFile), size, ud)
}

// writeMachineFile writes machine.yaml into dir with every setting the
// machine was made with, resolved: config.yaml is the defaults for new
// machines, and later changes to it do not move an existing machine under
// its user's feet (nor make ls report a disk it does not have).
func writeMachineFile(dir, isoPath string, settings config.Settings, driverName string) error {
	layer := settings.Layer()
	// A VM has no server keys.
	layer.SSHHost, layer.SSHKey, layer.SSHHostKey = nil, nil, nil
	layer.ISO = &isoPath
	if settings.Driver == "auto" && slices.Contains(config.Drivers, driverName) {
		// Keep the driver auto chose, so installing the other hypervisor
		// later does not move the machine.
		layer.Driver = &driverName
	}
	data, err := config.Marshal(layer)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, MachineFile), data, 0o600)
}

// createVM has the driver create the machine's VM from spec. When it
// fails, it undoes what the driver registered and removes the machine
// directory dir, so that a failed init leaves no machine behind.
func createVM(ctx context.Context, drv vm.Driver, spec vm.Spec, dir string) error {
	if err := drv.Create(ctx, spec); err != nil {
		cleanup := context.WithoutCancel(ctx)
		_ = drv.Delete(cleanup, spec)
		os.RemoveAll(dir)
		return err
	}
	return nil
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
	if _, err := writeCerts(dir, name, ca, true); err != nil {
		return err
	}
	if err := writeFiles(dir, []credFile{
		{SSHKey, id.PrivatePEM, 0o600},
		{SSHPubKey, id.Public, 0o644},
		{GuestHostPrivKey, hostKey.PrivatePEM, 0o600},
		{GuestHostKey, hostKey.Public, 0o644},
	}); err != nil {
		return err
	}
	return provision.WriteKnownHosts(filepath.Join(dir, KnownHosts), alias, hostPub)
}

// credFile is one file of a machine's credentials, relative to its
// directory.
type credFile struct {
	rel  string
	data []byte
	perm os.FileMode
}

func writeFiles(dir string, files []credFile) error {
	for _, f := range files {
		if err := atomicfile.Write(filepath.Join(dir, f.rel), f.data, f.perm); err != nil {
			return err
		}
	}
	return nil
}

// writeCerts issues machine name's server certificate (what the guest's
// dockerd, or a server machine's host agent, serves) and, with client, its
// client certificate with the CA's beside it (DOCKER_CERT_PATH), and writes
// them into dir, keys 0600. It returns the server's pair.
func writeCerts(dir, name string, ca *provision.CA, client bool) (provision.KeyPair, error) {
	server, err := ca.IssueServer(hostAlias(name))
	if err != nil {
		return provision.KeyPair{}, err
	}
	files := []credFile{{ServerCert, server.CertPEM, 0o644}, {ServerKey, server.KeyPEM, 0o600}}
	if client {
		c, err := ca.IssueClient("tender client " + name)
		if err != nil {
			return provision.KeyPair{}, err
		}
		files = append(files,
			credFile{filepath.Join(ClientCerts, CACertFile), ca.CertPEM, 0o644},
			credFile{filepath.Join(ClientCerts, ClientCert), c.CertPEM, 0o644},
			credFile{filepath.Join(ClientCerts, ClientKey), c.KeyPEM, 0o600})
		if err := os.MkdirAll(filepath.Join(dir, ClientCerts), 0o700); err != nil {
			return provision.KeyPair{}, err
		}
	}
	return server, writeFiles(dir, files)
}

// serverCredentials reads what the machine's Docker serves TLS with: the
// CA certificate and the server's pair.
func (m *Machine) serverCredentials() (ca []byte, server provision.KeyPair, err error) {
	read := func(rel string) []byte {
		if err != nil {
			return nil
		}
		var b []byte
		b, err = os.ReadFile(filepath.Join(m.Dir, rel))
		return b
	}
	ca = read(filepath.Join(ClientCerts, CACertFile))
	server = provision.KeyPair{CertPEM: read(ServerCert), KeyPEM: read(ServerKey)}
	return ca, server, err
}

// readUserdata gathers what the guest needs from the files writeCredentials made.
func readUserdata(dir, name string, s config.Settings, shareType string) (api.Userdata, error) {
	read := func(parts ...string) []byte {
		data, _ := os.ReadFile(filepath.Join(append([]string{dir}, parts...)...))
		return data
	}
	u := api.Userdata{
		Hostname:       hostAlias(name),
		AuthorizedKeys: read(SSHPubKey),
		SSHHostKey:     read(GuestHostPrivKey),
		CACert:         read(ClientCerts, CACertFile),
		ServerCert:     read(ServerCert),
		ServerKey:      read(ServerKey),
	}
	for i, sh := range s.Shares {
		u.Shares = append(u.Shares, api.Share{Type: shareType, Tag: shareTag(i), Target: sh.Guest, ReadOnly: sh.ReadOnly})
	}
	return u, u.Validate()
}

// shareType is how the guest mounts the driver's shares.
func shareType(d vm.Driver) string {
	if st, ok := d.(vm.ShareTyper); ok {
		return st.ShareType()
	}
	return api.Share9p
}

func shareTag(i int) string { return fmt.Sprintf("share%d", i) }

// hostAlias is the machine's name as a host: the guest's hostname, the
// server certificate's DNS name, and the Host and HostKeyAlias of ssh_config
// and known_hosts. Unlike vm.Name, an identifier compared exactly, it is
// lower-cased: host names compare without case (DNS, certificate checks,
// known_hosts), and OpenSSH lower-cases HostName and HostKeyAlias, so the
// one spelling all these uses agree on is the lower-case one. The guest and
// its certificate have carried it since init, so it cannot change either.
func hostAlias(name string) string {
	return strings.ToLower(vm.Name(name))
}
