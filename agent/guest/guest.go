//go:build linux

// Package guest is the agent as PID 1 of the real root: it sets the machine
// up, runs sshd and dockerd, and shuts down cleanly on the power button.
//
// Boot, in order and in parallel where safe:
//
//	mounts → modules ─┬─ network (DHCP on every NIC with carrier)
//	                  ├─ power button watcher, control socket
//	                  └─ data disk → hostname, keys → engine (engine.go) → sshd
//	                                                                  → dockerd → ready
//
// Every program the agent starts goes through procTable, because PID 1 must
// reap orphans and that would otherwise steal exit statuses.
package guest

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/agent/shares"
)

type agent struct {
	resolv  *resolvState // what the NICs' leases say about names
	version string
	log     *logger
	procs   *procTable

	ctx    context.Context // cancelled when shutdown starts
	cancel context.CancelFunc

	shutdownOnce sync.Once
	shutdownReq  chan string

	mu         sync.Mutex
	sshd       *service
	containerd *service
	dockerd    *service
}

// Run runs the guest until power-off. It returns only on failure.
func Run(version string) error {
	// The kernel starts init with almost no environment; the agent and
	// everything it starts look programs up in this PATH.
	for _, kv := range childEnv() {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	mountErr := mountEarly()
	ctx, cancel := context.WithCancel(context.Background())
	a := &agent{
		version:     version,
		log:         newLogger(),
		procs:       newProcTable(),
		ctx:         ctx,
		cancel:      cancel,
		shutdownReq: make(chan string, 1),
	}
	a.phase(api.PhaseAgentStart)
	a.log.Logf("tender-agent %s", version)
	if mountErr != nil {
		a.log.Printf("%v", mountErr)
	}
	go a.procs.reapLoop()
	a.handleSignals()

	go a.boot()

	reason := <-a.shutdownReq
	a.shutdown(reason)
	return errors.New("power-off failed") // not reached: shutdown powers off
}

// boot brings the machine up; errors are printed and the agent stays up so
// that the power button still works.
func (a *agent) boot() {
	if err := a.serveControl(a.ctx); err != nil {
		a.log.Printf("%v", err)
	}
	modules := a.loadBootModules()
	defer modules.loadRest()
	a.phase(api.PhaseModulesLoaded)

	netUp := a.network(a.ctx)
	dockerModules := modules.loadDocker(netUp)
	go func() {
		select {
		case <-netUp:
			a.phase(api.PhaseNetworkUp)
		case <-a.ctx.Done():
		}
	}()
	go a.watchPowerButton(a.ctx, func() { a.requestShutdown("power button") })

	u, err := a.mountDataDisk(a.ctx)
	if err != nil {
		if !errors.Is(err, errNoDataDisk) {
			a.log.Printf("%v", err)
		}
		a.log.Printf("without a tender data disk there are no keys: sshd and dockerd are not started")
		return
	}
	if err := os.MkdirAll(LogDir, 0o755); err != nil {
		a.log.Printf("%v", err)
	}
	if err := a.log.setFile(api.AgentLog); err != nil {
		a.log.Printf("opening agent.log: %v", err)
	}
	a.phase(api.PhaseDiskMounted)
	if err := setHostname(u.Hostname); err != nil {
		a.log.Printf("%v", err)
	}
	if err := a.installIdentity(u); err != nil {
		a.log.Printf("%v", err)
	}
	if err := a.installEngine(a.ctx); err != nil {
		a.log.Printf("%v", err)
	}
	a.phase(api.PhaseEngineReady)
	go prefetch(a.log, prefetchFiles)
	go func() { // host folders; not waited for (see package shares)
		if err := shares.Mount(a.ctx, u.Shares, a.log.Logf); err != nil {
			a.log.Printf("%v", err)
		}
	}()

	a.mu.Lock()
	a.sshd = a.newSSHD()
	a.containerd = a.newContainerd()
	a.dockerd = a.newDockerd()
	a.mu.Unlock()
	go a.containerd.run()
	go a.sshd.run()
	<-a.sshd.started
	a.phase(api.PhaseSSHDStarted)
	<-dockerModules // netfilter, bridge, overlay: dockerd needs them
	// At boot only: the kernel holds no rules of the last boot, so the
	// default bridge's restore and deletion would be ~60 iptables runs
	// for nothing (bench/RESULTS.md).
	if err := dropStaleDefaultBridge(DockerNetworkStore); err != nil {
		a.log.Printf("%v", err)
	}
	go a.dockerd.run()

	wctx, cancel := context.WithTimeout(a.ctx, 3*time.Minute)
	defer cancel()
	if err := waitDocker(wctx); err != nil {
		a.log.Printf("%v (see %s/dockerd.log)", err, LogDir)
		return
	}
	a.phase(api.PhaseDockerdReady)
	go a.watchIngress(a.ctx) // swarm services' published ports, for watch-ports
	modules.loadRest()
	select {
	case <-netUp:
	case <-time.After(30 * time.Second):
		a.log.Printf("network: no address yet; the host cannot reach this machine")
	case <-a.ctx.Done():
		return
	}
	a.log.Console(api.ReadyLine)
}

// moduleLoader loads ModulesFile's modules tier by tier.
type moduleLoader struct {
	a        *agent
	dir      string
	total    int
	tiers    [3][]string
	restOnce sync.Once
}

// loadBootModules loads the modules the boot waits for (tierBoot).
func (a *agent) loadBootModules() *moduleLoader {
	ml := &moduleLoader{a: a}
	f, err := os.Open(ModulesFile)
	if err != nil {
		a.log.Printf("reading the module list: %v", err)
		return ml
	}
	list := parseModules(f)
	f.Close()
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	ml.dir = "/lib/modules/" + unix.ByteSliceToString(uts.Release[:])
	ml.total = len(list)
	ml.tiers = splitModules(list)
	if err := loadModules(ml.dir, ml.tiers[tierBoot], 4, 0, ml.slow); err != nil {
		// Perhaps a dependency is in a later tier: try again there.
		a.log.Logf("boot modules: %v", err)
		ml.tiers[tierDocker] = append(ml.tiers[tierDocker], ml.tiers[tierBoot]...)
	}
	a.log.Logf("loaded %d boot modules", len(ml.tiers[tierBoot]))
	return ml
}

func (ml *moduleLoader) slow(m string, d time.Duration) {
	ml.a.log.Logf("module %s took %s", m, d.Round(time.Millisecond))
}

// loadDocker loads dockerd's tier in the background once after is closed
// or 3 s have passed: network modules take the RTNL lock while they
// initialise, which held DHCP's interface lookup and address setup up by
// seconds. The returned channel closes when they are in.
func (ml *moduleLoader) loadDocker(after <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-after:
		case <-time.After(3 * time.Second):
		}
		if err := loadModules(ml.dir, ml.tiers[tierDocker], 4, 0, ml.slow); err != nil {
			ml.a.log.Printf("%v", err)
		}
		ml.a.log.Logf("loaded %d docker modules", len(ml.tiers[tierDocker]))
	}()
	return done
}

// loadRest loads the last tier (shares, …) in the background, once, at the
// lowest priority: it runs after dockerd is up so as not to slow it.
func (ml *moduleLoader) loadRest() {
	ml.restOnce.Do(func() {
		go func() {
			if err := loadModules(ml.dir, ml.tiers[tierRest], 1, 19, ml.slow); err != nil {
				ml.a.log.Printf("%v", err)
			}
			ml.a.log.Logf("loaded all %d modules from %s", ml.total, ModulesFile)
		}()
	})
}

// prefetchFiles are read into the page cache once the engine is in place, in
// the background: faulting dockerd's 94 MB in page by page cost seconds of its
// start under TCG; read ahead, the work overlaps with sshd, containerd and
// the docker modules. Page cache stays reclaimable (it counts as available).
var prefetchFiles = []string{
	"/usr/sbin/dockerd",
	"/usr/bin/containerd",
	"/usr/bin/containerd-shim-runc-v2",
	"/usr/sbin/runc",
	"/usr/sbin/xtables-nft-multi",
	"/usr/sbin/xtables-legacy-multi",
	"/usr/sbin/docker-proxy",
}

func prefetch(log *logger, files []string) {
	lowerPriority(10)
	began := time.Now()
	buf := make([]byte, 1<<20)
	var total int64
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		for {
			n, err := f.Read(buf)
			total += int64(n)
			if err != nil {
				break
			}
		}
		f.Close()
	}
	log.Logf("prefetched %d MB in %s", total>>20, time.Since(began).Round(time.Millisecond))
}

func (a *agent) phase(name string) {
	a.log.Console(api.PhaseLine(name, uptime()))
}

// handleSignals turns SIGTERM, SIGINT (Ctrl-Alt-Del once the kernel is told
// to send it) and SIGPWR into a shutdown, and SIGUSR2 into a dockerd restart.
func (a *agent) handleSignals() {
	// Ctrl-Alt-Del sends SIGINT to PID 1 instead of rebooting at once.
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF); err != nil {
		a.log.Logf("disabling Ctrl-Alt-Del reboot: %v", err)
	}
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, unix.SIGTERM, unix.SIGINT, unix.SIGPWR, unix.SIGUSR2)
	go func() {
		for sig := range ch {
			if sig == unix.SIGUSR2 {
				go func() {
					if err := a.restartDocker(); err != nil {
						a.log.Printf("%v", err)
					}
				}()
				continue
			}
			a.requestShutdown("signal " + sig.String())
		}
	}()
}

func (a *agent) requestShutdown(reason string) {
	select {
	case a.shutdownReq <- reason:
	default: // already asked
	}
}

// restartDocker restarts dockerd (to pick up new certs or daemon.json) and
// waits until it answers again.
func (a *agent) restartDocker() error {
	a.mu.Lock()
	d := a.dockerd
	a.mu.Unlock()
	if d == nil {
		return errors.New("dockerd is not running: the machine has no data disk or is still booting")
	}
	a.log.Printf("restarting dockerd")
	d.restart(20 * time.Second)
	ctx, cancel := context.WithTimeout(a.ctx, 2*time.Minute)
	defer cancel()
	if err := waitDocker(ctx); err != nil {
		return err
	}
	a.log.Printf("dockerd restarted and ready")
	return nil
}
