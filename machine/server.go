package machine

// A machine with driver ssh is a server tender does not run: a Linux box
// with Docker, reached over SSH with the user's own key. There is no VM,
// disk or image. The host agent holds one SSH connection to the server and
// offers its Docker socket on the host the way every machine's Docker is
// offered: a 127.0.0.1 TLS port that wants tender's client certificate, and
// the machine's docker.sock. The server's Docker is never opened to its
// network.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tenderdev/tender/atomicfile"
	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/hostagent"
	"github.com/tenderdev/tender/provision"
	"github.com/tenderdev/tender/vm"
)

// ServerHostKey is the server's host key, pinned at init (driver ssh), in
// authorized_keys form.
const ServerHostKey = "server_host_key.pub"

// serverConnectTimeout bounds one connection to a server: TCP, the SSH
// handshake and the Docker probe.
const serverConnectTimeout = 20 * time.Second

// IsServer reports whether m is a server reached over SSH (driver ssh).
func (m *Machine) IsServer() bool { return m.Settings.Driver == config.DriverSSH }

// HostAgentStatus tells, from a machine directory, whether its host agent
// runs and whether it is connected. It reads two files and starts nothing.
func HostAgentStatus(dir string) (running, connected bool) {
	if !hostagent.Alive(readPID(filepath.Join(dir, HostAgentPID)), filepath.Base(dir)) {
		return false, false
	}
	p, err := hostagent.ReadPorts(filepath.Join(dir, PortsFile))
	return true, err == nil && p.Connected
}

// ServerAddr is host:port of the server's sshd.
func (m *Machine) ServerAddr() string {
	_, host := config.SplitServer(m.Settings.SSHHost)
	return net.JoinHostPort(host, strconv.Itoa(m.Settings.SSHPort))
}

// ServerUser is the account tender logs in to the server as: the one in
// ssh_host, else the user's own name, as OpenSSH does.
func (m *Machine) ServerUser() string { return serverUser(m.Settings.SSHHost) }

func serverUser(sshHost string) string {
	if u, _ := config.SplitServer(sshHost); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		name := u.Username
		if i := strings.LastIndex(name, `\`); i >= 0 { // DOMAIN\user on Windows
			name = name[i+1:]
		}
		return name
	}
	return os.Getenv("USER")
}

// dialServer connects to the server with the user's key, accepting only the
// host key pinned at init.
func (m *Machine) dialServer(ctx context.Context, lookupEnv func(string) (string, bool)) (*provision.Client, error) {
	signer, done, err := provision.KeyAuth(m.Settings.SSHKey, lookupEnv)
	if err != nil {
		return nil, err
	}
	defer done()
	hostKey, err := m.GuestHostKey()
	if err != nil {
		return nil, err
	}
	c, err := provision.DialSigner(ctx, m.ServerAddr(), m.ServerUser(), signer, hostKey)
	return c, serverDialError(m.ServerUser(), m.Settings.SSHHost, m.Settings.SSHKey, err)
}

// connectServer connects to the server and finds its Docker socket, within
// serverConnectTimeout; the caller closes the connection.
func (m *Machine) connectServer(ctx context.Context, lookupEnv func(string) (string, bool)) (*provision.Client, string, error) {
	ctx, cancel := context.WithTimeout(ctx, serverConnectTimeout)
	defer cancel()
	c, err := m.dialServer(ctx, lookupEnv)
	if err != nil {
		return nil, "", err
	}
	socket, err := provision.ProbeDocker(ctx, c, provision.DockerSockets)
	if err != nil {
		c.Close()
		return nil, "", err
	}
	return c, socket, nil
}

// serverDialError says in one line what a failed connection to a server
// means and what to do.
func serverDialError(user, server, key string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, provision.ErrHostKeyMismatch):
		return fmt.Errorf("the server %s offers another host key than the one pinned at init, so tender does not connect (as OpenSSH would not): %w; if the server was reinstalled, `tender delete` this machine and init it again", server, err)
	case strings.Contains(err.Error(), "unable to authenticate"):
		return fmt.Errorf("the server %s refused the key %s for user %s: add %s.pub to ~%s/.ssh/authorized_keys there, or give another key with --ssh-key", server, key, user, key, user)
	}
	return fmt.Errorf("cannot reach the server %s: %w", server, err)
}

// initServer is init for driver ssh: it pins the server's host key, checks
// that the key logs in and that Docker answers, and writes the machine's
// certificates and settings. Nothing is written before every check passes.
func (s *Store) initServer(ctx context.Context, name, dir string, srcs []config.Source, settings config.Settings, opts InitOptions) (*Machine, error) {
	if opts.Network != "" {
		return nil, fmt.Errorf("--network: machine %q is a server (driver ssh), which cannot join a tender network; nothing was created", name)
	}
	m := &Machine{Name: name, Dir: dir, Settings: settings}
	signer, done, err := provision.KeyAuth(settings.SSHKey, s.lookupEnv)
	if err != nil {
		return nil, err
	}
	defer done()
	fmt.Fprintf(s.Progress, "connecting to %s (%s)…\n", settings.SSHHost, m.ServerAddr())
	sctx, cancel := context.WithTimeout(ctx, serverConnectTimeout)
	defer cancel()
	hostKey, err := provision.ScanHostKey(sctx, m.ServerAddr())
	if err != nil {
		return nil, fmt.Errorf("cannot reach the server %s: %w; nothing was created", settings.SSHHost, err)
	}
	if err := s.confirmHostKey(settings, hostKey); err != nil {
		return nil, err
	}
	hostKeyLine := ssh.MarshalAuthorizedKey(hostKey)
	c, err := provision.DialSigner(sctx, m.ServerAddr(), m.ServerUser(), signer, hostKey)
	if err != nil {
		return nil, fmt.Errorf("%w; nothing was created", serverDialError(m.ServerUser(), settings.SSHHost, settings.SSHKey, err))
	}
	defer c.Close()
	socket, err := provision.ProbeDocker(sctx, c, provision.DockerSockets)
	if err != nil && opts.InstallDocker && strings.Contains(err.Error(), "has no Docker") {
		if err := s.installDocker(ctx, c); err != nil {
			return nil, fmt.Errorf("%w; nothing was created", err)
		}
		socket, err = provision.ProbeDocker(sctx, c, provision.DockerSockets)
	}
	if err != nil {
		return nil, fmt.Errorf("%w; nothing was created", err)
	}
	fmt.Fprintf(s.Progress, "the server's Docker answers on %s\n", socket)

	a, err := s.assemble(ctx, name, dir)
	if err != nil {
		return nil, err
	}
	defer a.close()
	tmp := a.tmp
	if err := writeServerCredentials(tmp, name, a.ca, hostKeyLine); err != nil {
		return nil, err
	}
	layer := config.Merge(srcs[0], srcs[1])
	fp := ssh.FingerprintSHA256(hostKey)
	layer.SSHHostKey = &fp
	data, err := config.Marshal(layer)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(filepath.Join(tmp, MachineFile), data, 0o600); err != nil {
		return nil, err
	}
	if err := writeRuntime(tmp, Runtime{Driver: config.DriverSSH}); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("init interrupted; nothing was created: %w", err)
	}
	if err := a.place(dir); err != nil {
		return nil, err
	}
	return s.Load(name, config.Layer{})
}

// confirmHostKey checks the server's host key against ssh_host_key, or,
// when none is given, shows its fingerprint and asks the user (Confirm);
// without a way to ask it refuses, naming the flag that says it.
func (s *Store) confirmHostKey(settings config.Settings, key ssh.PublicKey) error {
	fp := ssh.FingerprintSHA256(key)
	if settings.SSHHostKey != "" {
		if err := provision.MatchHostKey(key, settings.SSHHostKey); err != nil {
			return fmt.Errorf("%w; nothing was created", err)
		}
		return nil
	}
	question := fmt.Sprintf("the server %s has the host key %s %s.\nCompare it with `ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub` on the server. Pin it? [y/N] ", settings.SSHHost, key.Type(), fp, keyFileType(key))
	if s.Confirm == nil {
		return fmt.Errorf("the server's host key is %s %s: check it on the server (ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub) and give it with --ssh-host-key %s; nothing was created", key.Type(), fp, keyFileType(key), fp)
	}
	ok, err := s.Confirm(question)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("the server's host key was not confirmed; nothing was created")
	}
	return nil
}

// keyFileType is the word in /etc/ssh/ssh_host_WORD_key.pub for a key.
func keyFileType(key ssh.PublicKey) string {
	switch key.Type() {
	case ssh.KeyAlgoED25519:
		return "ed25519"
	case ssh.KeyAlgoRSA:
		return "rsa"
	}
	return "ecdsa"
}

// installDocker installs the distribution's Docker on the server, with
// sudo -n (no password prompt over SSH), saying what it runs.
func (s *Store) installDocker(ctx context.Context, c *provision.Client) error {
	out, err := c.Output(ctx, `if command -v apt-get >/dev/null 2>&1; then echo apt-get; elif command -v dnf >/dev/null 2>&1; then echo dnf; fi`)
	if err != nil {
		return fmt.Errorf("looking for a package manager on the server: %w", err)
	}
	var cmd string
	switch strings.TrimSpace(string(out)) {
	case "apt-get":
		cmd = "sudo -n sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io && systemctl enable --now docker && usermod -aG docker \"$SUDO_USER\"'"
	case "dnf":
		cmd = "sudo -n sh -c 'dnf install -y -q moby-engine || dnf install -y -q docker; systemctl enable --now docker && usermod -aG docker \"$SUDO_USER\"'"
	default:
		return errors.New("--install-docker: the server has neither apt-get nor dnf; install Docker there yourself")
	}
	fmt.Fprintf(s.Progress, "installing Docker on the server: %s\n", cmd)
	code, err := c.Run(ctx, cmd, nil, s.Progress, s.Progress)
	if err != nil {
		return fmt.Errorf("--install-docker: %w", err)
	}
	if code != 0 {
		return fmt.Errorf("--install-docker: the install exited with status %d (it needs sudo without a password: sudo -n)", code)
	}
	return nil
}

// writeServerCredentials writes what a server machine keeps: the client
// certificates (DOCKER_CERT_PATH), the host agent's server certificate for
// its TLS port, and the server's pinned host key.
func writeServerCredentials(dir, name string, ca *provision.CA, hostKey []byte) error {
	if _, err := writeCerts(dir, name, ca, true); err != nil {
		return err
	}
	if err := writeFiles(dir, []credFile{{ServerHostKey, hostKey, 0o644}}); err != nil {
		return err
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(hostKey)
	if err != nil {
		return err
	}
	return provision.WriteKnownHosts(filepath.Join(dir, KnownHosts), hostAlias(name), pub)
}

// upServer is up for driver ssh: it connects once from here, so that what
// is wrong is said in one line, then starts the host agent and waits until
// Docker answers through it. A failure leaves the machine stopped.
func (s *Store) upServer(ctx context.Context, m *Machine, state vm.State) (*UpResult, error) {
	if state == vm.Running {
		return &UpResult{Machine: m, AlreadyRunning: true}, nil
	}
	start := time.Now()
	fmt.Fprintf(s.Progress, "connecting to the server %s (machine %q, ssh driver)…\n", m.Settings.SSHHost, m.Name)
	c, _, err := m.connectServer(ctx, s.lookupEnv)
	if err != nil {
		return nil, err
	}
	c.Close()
	if len(s.HostAgent) == 0 {
		return nil, errors.New("a server machine needs the host agent, and this tender has none")
	}
	if state == vm.Unreachable {
		s.stopHostAgent(m) // it may hold a port chosen before
	}
	if m.Runtime.DockerPort, err = s.choosePort("docker_port", "--dockerport", m.Settings.DockerPort, m.Runtime.DockerPort, 0); err != nil {
		return nil, err
	}
	m.Runtime.Driver = config.DriverSSH
	if err := writeRuntime(m.Dir, m.Runtime); err != nil {
		return nil, err
	}
	s.ensureHostAgent(m)
	prog := newProgress(s.Progress, start)
	prog.set("waiting for the server's Docker through the host agent")
	err = m.pingDockerUntil(ctx, serverConnectTimeout)
	prog.done()
	if err != nil {
		s.stopHostAgent(m)
		tail := TailFile(filepath.Join(m.Dir, HostAgentLog), 5)
		return nil, fmt.Errorf("machine %q: the host agent did not offer the server's Docker: %w\nlast lines of %s:\n%s", m.Name, err, filepath.Join(m.Dir, HostAgentLog), tail)
	}
	res := &UpResult{Machine: m, Took: time.Since(start)}
	m.Runtime.BootedAt = start
	m.Runtime.ReadyAfter = res.Took.Seconds()
	return res, writeRuntime(m.Dir, m.Runtime)
}

// refuseServer is the one line for a verb that has no meaning for a server.
func refuseServer(m *Machine, verb, why string) error {
	if !m.IsServer() {
		return nil
	}
	return fmt.Errorf("%s does not apply to machine %q: it is the server %s (driver ssh), which %s: %w", verb, m.Name, m.Settings.SSHHost, why, vm.ErrNotSupported)
}

// serverWatchInterval is how often the host agent reads a server's
// containers for their published ports.
const serverWatchInterval = 2 * time.Second

// serverLink is the host agent's one SSH connection to a server, made
// again by the agent when it is lost; everything the agent offers on the
// host goes through it.
type serverLink struct {
	m         *Machine
	lookupEnv func(string) (string, bool)

	mu     sync.Mutex
	client *provision.Client
	socket string
}

// connect is the agent's Connect: a new connection, and the server's
// Docker socket found again (it may have moved, or Docker restarted).
func (l *serverLink) connect(ctx context.Context) (hostagent.Guest, error) {
	c, socket, err := l.m.connectServer(ctx, l.lookupEnv)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.client, l.socket = c, socket
	l.mu.Unlock()
	return hostagent.ServerGuest{Dial: c.DialRemote, Socket: socket, Interval: serverWatchInterval, Closer: closerFunc(func() error {
		l.mu.Lock()
		if l.client == c {
			l.client = nil
		}
		l.mu.Unlock()
		return c.Close()
	})}, nil
}

func (l *serverLink) current() (*provision.Client, string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.client == nil {
		return nil, "", fmt.Errorf("not connected to the server %s (see %s)", l.m.Settings.SSHHost, HostAgentLog)
	}
	return l.client, l.socket, nil
}

// serverDialTimeout bounds opening one channel to the server: a server
// that stopped answering (before the agent notices) must not hang clients.
const serverDialTimeout = 10 * time.Second

// dialDocker opens a connection to the server's Docker socket.
func (l *serverLink) dialDocker(ctx context.Context) (net.Conn, error) {
	c, socket, err := l.current()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, serverDialTimeout)
	defer cancel()
	return c.DialRemote(ctx, "unix", socket)
}

// dialTCP opens a connection from the server to addr there.
func (l *serverLink) dialTCP(ctx context.Context, addr string) (net.Conn, error) {
	c, _, err := l.current()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, serverDialTimeout)
	defer cancel()
	return c.DialRemote(ctx, "tcp", addr)
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// runServerAgent is the host agent of a server machine: the TLS port and
// docker.sock for the server's Docker, and its containers' published ports
// on 127.0.0.1, all over one SSH connection kept up with backoff.
func (s *Store) runServerAgent(ctx context.Context, m *Machine, logf func(string, ...any)) error {
	link := &serverLink{m: m, lookupEnv: s.lookupEnv}
	tlsConf, err := m.serverTLS()
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(m.Runtime.DockerPort)))
	if err != nil {
		return fmt.Errorf("the docker TLS port: %w", err)
	}
	go func() {
		if err := hostagent.ServeTLS(ctx, l, tlsConf, link.dialDocker, logf); err != nil && ctx.Err() == nil {
			logf("docker TLS port: %v", err)
		}
	}()
	if runtime.GOOS != "windows" {
		go func() {
			if err := hostagent.ServeSocket(ctx, m.SocketPath(), link.dialDocker, logf); err != nil {
				logf("docker.sock: %v", err)
			}
		}()
	}
	fw := &hostagent.TunnelForwarder{Dial: link.dialTCP, Logf: logf}
	defer fw.Close()
	a := &hostagent.Agent{
		Connect:   link.connect,
		Forwarder: fw,
		// A server does not stop: the agent keeps trying until down.
		Running:   func(context.Context) bool { return true },
		PortsFile: filepath.Join(m.Dir, PortsFile),
		Logf:      logf,
	}
	return a.Run(ctx)
}

// serverTLS is the host agent's TLS config for a server's Docker: the
// machine's server certificate, and a client certificate from tender's CA
// required, as dockerd --tlsverify in a VM wants.
func (m *Machine) serverTLS() (*tls.Config, error) {
	ca, server, err := m.serverCredentials()
	if err != nil {
		return nil, err
	}
	conf, err := provision.ServerTLS(ca, server)
	if err != nil {
		return nil, fmt.Errorf("%w (run `tender regenerate-certs%s`)", err, NameArg(m.Name))
	}
	return conf, nil
}
