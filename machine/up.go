package machine

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/iso"
	"github.com/tenderdev/tender/provision"
	"github.com/tenderdev/tender/vm"
)

// UpResult says what Up did.
type UpResult struct {
	Machine        *Machine
	AlreadyRunning bool
	Took           time.Duration
	Phases         []Phase // for --verbose
	// AgentVersion is the guest agent's, when up asked it on its way (""
	// when it did not).
	AgentVersion string
}

// Phase is one timed step of a boot as seen from the host.
type Phase struct {
	Name  string
	After time.Duration // since Up started the VM
}

// Up boots the machine and waits until SSH and the Docker API answer. If it
// fails after starting the VM, it stops the VM again, so the machine is left
// as it was.
func (s *Store) Up(ctx context.Context, name string, flags config.Layer) (*UpResult, error) {
	unlock, err := s.lockExisting(ctx, name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	m, err := s.Load(name, flags)
	if err != nil {
		return nil, err
	}
	state, err := m.driver.State(ctx, m.Spec())
	if err != nil {
		return nil, err
	}
	if m.IsServer() {
		return s.upServer(ctx, m, state)
	}
	switch state {
	case vm.Running:
		// A save cut short leaves the VM paused: Start lets it run.
		if err := m.driver.Start(ctx, m.Spec()); err != nil {
			return nil, err
		}
		if err := m.pingDocker(ctx); err == nil {
			s.resumeGuest(ctx, m) // its shares, if a save stopped half-way
			if err := s.ensureSwitch(ctx, m); err != nil {
				fmt.Fprintf(s.Progress, "warning: %v\n", err)
			}
			s.ensureHostAgent(m)
			return &UpResult{Machine: m, AlreadyRunning: true}, nil
		}
		// Running but docker does not answer yet (another up was
		// interrupted, or the guest is still booting): wait below.
	case vm.Starting:
	default:
		if err := s.choosePorts(m); err != nil {
			return nil, err
		}
	}

	start := time.Now()
	res := &UpResult{Machine: m}
	if state != vm.Running && state != vm.Starting {
		if err := s.checkImage(m); err != nil {
			return nil, err
		}
		if state != vm.Saved { // a saved machine's disk is as its memory left it
			if err := s.growDisk(m); err != nil {
				return nil, err
			}
		}
		if err := writeRuntime(m.Dir, m.Runtime); err != nil {
			return nil, err
		}
		verb := "starting"
		if state == vm.Saved {
			verb = "resuming"
		}
		fmt.Fprintf(s.Progress, "%s machine %q (%s driver)…\n", verb, name, m.driver.Name())
		if w, ok := m.driver.(vm.StartWarner); ok {
			if msg := w.StartWarning(m.Spec()); msg != "" {
				fmt.Fprintln(s.Progress, msg)
			}
		}
		if err := s.ensureSwitch(ctx, m); err != nil {
			return nil, err
		}
		spec := m.Spec()
		spec.Shares = s.existingShares(spec.Shares)
		rotateLog(spec.SerialLog, LogCap)
		if err := m.driver.Start(ctx, spec); err != nil {
			if m.Network != nil {
				s.stopSwitchIfIdle(context.WithoutCancel(ctx), m.Network.Name, m.Name)
			}
			return nil, err
		}
		res.Phases = append(res.Phases, Phase{"vm started", time.Since(start)})
	}
	// After a resume (or a save cut short) the guest's shares are to be
	// mounted again.
	remount := state == vm.Saved || state == vm.Running
	if err := s.waitReady(ctx, m, start, res, remount); err != nil {
		// Leave the machine as it was: stopped.
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
		defer cancel()
		_ = m.driver.Stop(stopCtx, m.Spec(), true)
		if m.Network != nil {
			s.stopSwitchIfIdle(stopCtx, m.Network.Name, m.Name)
		}
		return nil, err
	}
	res.Took = time.Since(start)
	m.Runtime.BootedAt = start
	m.Runtime.ReadyAfter = res.Took.Seconds()
	if err := writeRuntime(m.Dir, m.Runtime); err != nil {
		return nil, err
	}
	s.ensureHostAgent(m)
	return res, nil
}

// checkImage makes sure the machine's image is there before QEMU is asked
// to boot it. An image deleted after init is replaced by the cached one,
// with a warning; with none cached the error says how to get one.
func (s *Store) checkImage(m *Machine) error {
	if m.Settings.ISO == "" {
		return nil
	}
	if _, err := os.Stat(m.Settings.ISO); !errors.Is(err, os.ErrNotExist) {
		return nil // present (a damaged one is the driver's to report)
	}
	cached, err := iso.Find("", filepath.Join(s.Home, CacheDir), m.Settings.Arch)
	if err != nil {
		return fmt.Errorf("the image %s of machine %q is gone: run `tender download` to put one in the cache, or `tender upgrade --iso PATH%s`", m.Settings.ISO, m.Name, NameArg(m.Name))
	}
	fmt.Fprintf(s.Progress, "warning: the image %s of machine %q is gone; booting the cached %s (make it permanent with `tender upgrade --iso %s%s`)\n", m.Settings.ISO, m.Name, cached.Path, cached.Path, NameArg(m.Name))
	m.Settings.ISO = cached.Path
	return nil
}

// choosePorts keeps the stored ports when they are still free, takes pinned
// ports from the settings, and picks free ones otherwise.
func (s *Store) choosePorts(m *Machine) error {
	var err error
	m.Runtime.SSHPort, err = s.choosePort("ssh_port", "--sshport", m.Settings.SSHPort, m.Runtime.SSHPort, 0)
	if err != nil {
		return err
	}
	m.Runtime.DockerPort, err = s.choosePort("docker_port", "--dockerport", m.Settings.DockerPort, m.Runtime.DockerPort, m.Runtime.SSHPort)
	if err != nil {
		return err
	}
	m.Runtime.Driver = m.driver.Name()
	return nil
}

func (s *Store) choosePort(key, flag string, pinned, stored, avoid int) (int, error) {
	if pinned != 0 {
		if !portFree(pinned) {
			return 0, fmt.Errorf("port %d on 127.0.0.1 (`%s`) is in use by another program: stop it, or choose another port with %s or `%s:` in machine.yaml", pinned, key, flag, key)
		}
		return pinned, nil
	}
	if stored != 0 && stored != avoid && portFree(stored) {
		return stored, nil
	}
	if stored != 0 {
		fmt.Fprintf(s.Progress, "port %d (%s) is taken by another program; picking another\n", stored, key)
	}
	for range 10 {
		p, err := freePort()
		if err != nil {
			return 0, err
		}
		if p != avoid {
			return p, nil
		}
	}
	return 0, errors.New("no free port found on 127.0.0.1")
}

func portFree(p int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady waits for SSH (with the pinned host key) and for docker's /_ping
// over TLS, and checks the guest serves our server certificate. On a cold
// boot it waits for SSH first; after a resume (remount) it pings Docker at
// once, while SSH mounts the shares again. Over SSH it also asks the agent
// its version, for UpResult.AgentVersion.
func (s *Store) waitReady(ctx context.Context, m *Machine, start time.Time, res *UpResult, remount bool) error {
	ctx, cancel := context.WithTimeout(ctx, m.Settings.BootTimeout)
	defer cancel()
	prog := newProgress(s.Progress, start)
	defer prog.done()

	// SSH is dialled beside the wait for Docker: after a resume both
	// answer at once, and the shares are mounted again meanwhile.
	sshDone := make(chan error, 1)
	var client *provision.Client
	go func() {
		c, err := m.waitSSH(ctx)
		if err != nil {
			sshDone <- m.bootError("SSH did not answer", err)
			return
		}
		client = c
		res.Phases = append(res.Phases, Phase{"ssh answered", time.Since(start)})
		if remount {
			s.remountShares(ctx, m, c)
		}
		if v, err := c.Agent(ctx, api.Version()); err == nil {
			res.AgentVersion = strings.TrimSpace(string(v))
		}
		sshDone <- nil
	}()
	sshWaited, sshErr := false, error(nil)
	waitSSH := func() error {
		if !sshWaited {
			sshWaited, sshErr = true, <-sshDone
		}
		return sshErr
	}
	defer func() {
		waitSSH()
		if client != nil {
			client.Close()
		}
	}()

	if remount {
		prog.set("waiting for Docker")
	} else {
		prog.set("waiting for SSH")
		if err := waitSSH(); err != nil {
			return err
		}
		prog.set("waiting for Docker")
	}
	var err error
	for {
		err = m.pingDocker(ctx)
		if err == nil {
			break
		}
		var wrongCert *wrongServerCertError
		if errors.As(err, &wrongCert) {
			if err := waitSSH(); err != nil {
				return err
			}
			prog.set("installing the server certificate")
			if err := m.installServerCerts(ctx, client); err != nil {
				return err
			}
			continue
		}
		if ctx.Err() != nil {
			return m.bootError("Docker did not answer", err)
		}
		select {
		case <-ctx.Done():
		case err := <-sshDone:
			// SSH gave up first (a wrong host key): that is the error.
			sshWaited, sshErr = true, err
			if err != nil {
				return err
			}
		case <-time.After(100 * time.Millisecond):
		}
	}
	dockerAt := time.Since(start)
	if err := waitSSH(); err != nil {
		return err
	}
	res.Phases = append(res.Phases, Phase{"docker answered", dockerAt})
	res.Phases = append(res.Phases, guestPhases(filepath.Join(m.Dir, SerialLog))...)
	if len(m.Settings.DNS) > 0 {
		// The override lives in the guest's /run: set it on every boot.
		if _, err := client.Agent(ctx, api.SetDNS(m.Settings.DNS)); err != nil {
			fmt.Fprintf(s.Progress, "warning: setting the guest's name servers (`dns`): %v\n", err)
		}
	}
	return nil
}

func (m *Machine) waitSSH(ctx context.Context) (*provision.Client, error) {
	key, err := os.ReadFile(filepath.Join(m.Dir, SSHKey))
	if err != nil {
		return nil, err
	}
	hostKey, err := m.GuestHostKey()
	if err != nil {
		return nil, err
	}
	return provision.WaitForSSH(ctx, m.SSHAddr(), "docker", key, hostKey)
}

// Dial opens an SSH connection to the running guest, or to the server of
// a server machine.
func (m *Machine) Dial(ctx context.Context) (*provision.Client, error) {
	if m.IsServer() {
		return m.dialServer(ctx, os.LookupEnv)
	}
	key, err := os.ReadFile(filepath.Join(m.Dir, SSHKey))
	if err != nil {
		return nil, err
	}
	hostKey, err := m.GuestHostKey()
	if err != nil {
		return nil, err
	}
	return provision.Dial(ctx, m.SSHAddr(), "docker", key, hostKey)
}

// GuestHostKey is the guest's pinned SSH host key, or the server's.
func (m *Machine) GuestHostKey() (ssh.PublicKey, error) {
	file := GuestHostKey
	if m.IsServer() {
		file = ServerHostKey
	}
	data, err := os.ReadFile(filepath.Join(m.Dir, file))
	if err != nil {
		return nil, fmt.Errorf("reading the pinned guest host key: %w", err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return nil, fmt.Errorf("the pinned host key %s is damaged: %w", file, err)
	}
	return pub, nil
}

// SSHAddr and DockerHost are where the host reaches the guest.
func (m *Machine) SSHAddr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.Runtime.SSHPort))
}

// DockerHost is the DOCKER_HOST value for the machine.
func (m *Machine) DockerHost() string {
	return "tcp://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(m.Runtime.DockerPort))
}

type wrongServerCertError struct{}

func (*wrongServerCertError) Error() string {
	return "the guest's Docker serves a certificate other than this machine's"
}

// pingDocker asks docker's /_ping over TLS with the client cert. It returns
// *wrongServerCertError when the guest presents a cert other than ours.
func (m *Machine) pingDocker(ctx context.Context) error {
	if m.Runtime.DockerPort == 0 {
		return errors.New("no docker port recorded")
	}
	tlsConf, err := m.dockerTLS()
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConf}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://127.0.0.1:"+strconv.Itoa(m.Runtime.DockerPort)+"/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		var wrong *wrongServerCertError
		if errors.As(err, &wrong) {
			return wrong
		}
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("docker /_ping answered %s", resp.Status)
	}
	return nil
}

// dockerTLS is the TLS config for the guest's Docker: the machine's client
// cert, and the server must present this machine's server cert. That is
// checked here rather than by name, so that a cert from our CA but not
// this machine's is noticed (and replaced by up).
func (m *Machine) dockerTLS() (*tls.Config, error) {
	conf, err := m.clientTLS()
	if err != nil {
		return nil, err
	}
	ours, err := os.ReadFile(filepath.Join(m.Dir, ServerCert))
	if err != nil {
		return nil, err
	}
	conf.InsecureSkipVerify = true
	conf.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 || !bytes.Contains(ours, pemBody(cs.PeerCertificates[0].Raw)) {
			return &wrongServerCertError{}
		}
		return nil
	}
	return conf, nil
}

func (m *Machine) clientTLS() (*tls.Config, error) {
	certs := m.CertPath()
	cert, err := tls.LoadX509KeyPair(filepath.Join(certs, ClientCert), filepath.Join(certs, ClientKey))
	if err != nil {
		return nil, fmt.Errorf("loading the client certificate (run `tender regenerate-certs --client`): %w", err)
	}
	caPEM, err := os.ReadFile(filepath.Join(certs, CACertFile))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// pemBody is the base64 body of a DER cert as it appears in a PEM file.
func pemBody(der []byte) []byte {
	var b strings.Builder
	enc := []byte(encodeBase64(der))
	for len(enc) > 64 {
		b.Write(enc[:64])
		b.WriteByte('\n')
		enc = enc[64:]
	}
	b.Write(enc)
	return []byte(b.String())
}

func (m *Machine) installServerCerts(ctx context.Context, c *provision.Client) error {
	ca, server, err := m.serverCredentials()
	if err != nil {
		return err
	}
	return provision.InstallServerCerts(ctx, c, ca, server.CertPEM, server.KeyPEM)
}

// bootError adds the serial console's last lines to a boot failure.
func (m *Machine) bootError(what string, err error) error {
	tail := TailFile(filepath.Join(m.Dir, SerialLog), 15)
	if tail == "" {
		tail = "(the serial log is empty)"
	}
	return fmt.Errorf("machine %q did not become ready: %s: %w\nlast lines of %s:\n%s", m.Name, what, err, filepath.Join(m.Dir, SerialLog), tail)
}

// TailFile returns the last n lines of a file, or "" when it cannot be read.
func TailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
