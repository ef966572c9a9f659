package hostagent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/tenderdev/tender/agent/api"
)

// Guest is what the host agent asks of the guest, over one authenticated
// SSH connection.
type Guest interface {
	// WatchPorts runs `tender-agent watch-ports`; the stream ends with an
	// error when the connection breaks or ctx ends.
	WatchPorts(ctx context.Context) (io.Reader, error)
	// Clock reads the guest's wall clock.
	Clock(ctx context.Context) (time.Time, error)
	// SetClock sets it.
	SetClock(ctx context.Context, t time.Time) error
	Close() error
}

// Forwarder adds and removes 127.0.0.1 forwards in the hypervisor
// (vm.Forwarder bound to the machine).
type Forwarder interface {
	Forward(ctx context.Context, proto string, hostPort, guestPort int) error
	Unforward(ctx context.Context, proto string, hostPort int) error
}

// Timing.
const (
	// ClockInterval is how often the guest's clock is compared with the host's.
	ClockInterval = 10 * time.Second
	// silenceLimit ends a connection that has sent nothing, not even the
	// guest's keepalive line (every 5 s), for this long.
	silenceLimit = 20 * time.Second
	// retryInterval is how often skipped ports are tried again.
	retryInterval = 5 * time.Second
)

// Agent follows one machine.
type Agent struct {
	Connect   func(ctx context.Context) (Guest, error)
	Forwarder Forwarder
	// Running reports whether the VM still runs; the agent exits when it
	// does not and no connection can be made.
	Running   func(ctx context.Context) bool
	PortsFile string
	Logf      func(format string, args ...any)
	// CheckHostPort is nil for the real check (CheckHostPort).
	CheckHostPort func(proto string, port int) error

	mu        sync.Mutex
	table     Table
	connected bool
}

// Run works until ctx ends or the machine stops.
func (a *Agent) Run(ctx context.Context) error {
	prev, err := ReadPorts(a.PortsFile)
	if err != nil {
		a.Logf("%v; starting afresh", err)
	}
	a.table = Table{}
	for _, f := range prev.Forwards {
		if f.Status == Forwarded {
			// Perhaps still in the hypervisor: the first resync removes
			// or renews it.
			a.table[f.key()] = f
		}
	}
	a.save()
	backoff := 250 * time.Millisecond
	var lastErr string
	for ctx.Err() == nil {
		g, err := a.Connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if !a.Running(ctx) {
				a.Logf("the machine is not running; host agent exits")
				a.clear()
				return nil
			}
			if err.Error() != lastErr {
				a.Logf("connecting to the guest: %v (retrying)", err)
				lastErr = err.Error()
			}
			sleep(ctx, backoff)
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		lastErr, backoff = "", 250*time.Millisecond
		a.Logf("connected to the guest")
		err = a.session(ctx, g)
		g.Close()
		a.mu.Lock()
		a.connected = false
		a.mu.Unlock()
		a.save()
		if ctx.Err() == nil {
			a.Logf("lost the guest: %v; reconnecting", err)
			sleep(ctx, backoff)
		}
	}
	a.Logf("host agent stops")
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

type eventOrErr struct {
	ev  api.PortEvent
	err error
}

// session follows the guest's ports over one connection, with the clock
// kept in step beside it, until the connection breaks.
func (a *Agent) session(ctx context.Context, g Guest) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := g.WatchPorts(sctx)
	if err != nil {
		return err
	}
	events := make(chan eventOrErr)
	go func() {
		dec := api.NewPortEventDecoder(stream)
		for {
			ev, err := dec.Next()
			if errors.Is(err, io.EOF) {
				err = errors.New("the port stream ended")
			}
			select {
			case events <- eventOrErr{ev, err}:
			case <-sctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	go a.keepClock(sctx, g)

	silence := time.NewTimer(silenceLimit)
	defer silence.Stop()
	retry := time.NewTicker(retryInterval)
	defer retry.Stop()
	first := true
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r := <-events:
			if r.err != nil {
				return r.err
			}
			silence.Reset(silenceLimit)
			if r.ev.Empty() && !first {
				continue // keepalive
			}
			a.apply(sctx, r.ev, first)
			if first {
				a.mu.Lock()
				a.connected = true
				a.mu.Unlock()
				first = false
			}
			a.save()
		case <-retry.C:
			if a.retrySkipped(sctx) {
				a.save()
			}
		case <-silence.C:
			return fmt.Errorf("no word from the guest for %s", silenceLimit)
		}
	}
}

// apply carries out the plan for ev.
func (a *Agent) apply(ctx context.Context, ev api.PortEvent, resync bool) {
	a.mu.Lock()
	plan := a.table.Plan(ev, resync)
	a.mu.Unlock()
	for _, act := range plan {
		p := act.Port
		a.mu.Lock()
		old, had := a.table[p]
		a.mu.Unlock()
		if had && old.Status == Forwarded {
			if err := a.Forwarder.Unforward(ctx, p.Proto, p.Port); err != nil {
				a.Logf("removing the forward of %s: %v", old.HostAddr()+"/"+p.Proto, err)
			}
		}
		if !act.Add {
			a.mu.Lock()
			delete(a.table, p)
			a.mu.Unlock()
			if had && old.Status == Forwarded {
				a.Logf("guest port %s closed: removed 127.0.0.1:%d", p, p.Port)
			}
			continue
		}
		f := a.forward(ctx, p)
		a.mu.Lock()
		a.table[p] = f
		a.mu.Unlock()
	}
}

// forward forwards one port, or says why it was skipped.
func (a *Agent) forward(ctx context.Context, p api.Port) Forward {
	f := Forward{Proto: p.Proto, Port: p.Port, Status: Forwarded, Since: time.Now().UTC().Round(time.Millisecond)}
	check := a.CheckHostPort
	if check == nil {
		check = CheckHostPort
	}
	err := check(p.Proto, p.Port)
	if err == nil {
		err = a.Forwarder.Forward(ctx, p.Proto, p.Port, p.Port)
	}
	if err != nil {
		f.Status, f.Reason = Skipped, err.Error()
		a.Logf("guest port %s: skipped: %v", p, err)
		return f
	}
	a.Logf("guest port %s: forwarded from 127.0.0.1:%d", p, p.Port)
	return f
}

// retrySkipped tries skipped ports again: the host program holding one may
// have gone. It reports whether anything changed.
func (a *Agent) retrySkipped(ctx context.Context) bool {
	a.mu.Lock()
	var skipped []api.Port
	for p, f := range a.table {
		if f.Status == Skipped {
			skipped = append(skipped, p)
		}
	}
	a.mu.Unlock()
	changed := false
	for _, p := range skipped {
		check := a.CheckHostPort
		if check == nil {
			check = CheckHostPort
		}
		if check(p.Proto, p.Port) != nil {
			continue
		}
		f := a.forward(ctx, p)
		a.mu.Lock()
		if _, still := a.table[p]; still {
			a.table[p] = f
			changed = true
		}
		a.mu.Unlock()
	}
	return changed
}

// keepClock compares the clocks every ClockInterval and right after the
// host's wall clock jumps (the host slept, or its clock was set): the
// monotonic clock does not count a suspend, the wall clock does.
func (a *Agent) keepClock(ctx context.Context, g Guest) {
	if _, err := g.Clock(ctx); errors.Is(err, ErrOwnClock) {
		return
	}
	a.syncClock(ctx, g)
	every := time.NewTicker(ClockInterval)
	defer every.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-every.C:
			a.syncClock(ctx, g)
		case now := <-tick.C:
			if jumped(now.Round(0).Sub(last.Round(0)), now.Sub(last)) {
				a.Logf("the host's clock jumped; checking the guest's")
				a.syncClock(ctx, g)
			}
			last = now
		}
	}
}

// jumped reports whether the wall clock moved more than a second away
// from the monotonic clock over the same interval (time.Time.Round(0)
// strips the monotonic reading, so the first is the wall difference).
func jumped(wall, mono time.Duration) bool {
	d := wall - mono
	return d > time.Second || d < -time.Second
}

// clockThreshold is how far the guest's clock may drift from the host's
// before syncClock sets it.
const clockThreshold = time.Second

// clockOffset is how far the guest's clock is ahead of the host's, from a
// reading guest taken between the host's sent and received: the guest read
// its clock about halfway through the round trip.
func clockOffset(sent, received, guest time.Time) time.Duration {
	mid := sent.Add(received.Sub(sent) / 2)
	return guest.Sub(mid)
}

// syncClock sets the guest's clock when it is more than clockThreshold
// off.
func (a *Agent) syncClock(ctx context.Context, g Guest) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	sent := time.Now()
	guest, err := g.Clock(cctx)
	received := time.Now()
	if err != nil {
		if ctx.Err() == nil {
			a.Logf("reading the guest's clock: %v", err)
		}
		return
	}
	off := clockOffset(sent, received, guest)
	if off <= clockThreshold && off >= -clockThreshold {
		return
	}
	// Setting takes about one round trip; aim at the time it lands.
	rtt := received.Sub(sent)
	target := time.Now().Add(rtt / 2)
	if err := g.SetClock(cctx, target); err != nil {
		a.Logf("setting the guest's clock (%s off): %v", off.Round(time.Millisecond), err)
		return
	}
	a.Logf("guest clock was %s off; set it to the host's", off.Round(time.Millisecond))
}

func (a *Agent) save() {
	a.mu.Lock()
	p := Ports{PID: os.Getpid(), Connected: a.connected, Updated: time.Now().UTC().Round(time.Millisecond), Forwards: a.table.List()}
	a.mu.Unlock()
	if err := WritePorts(a.PortsFile, p); err != nil {
		a.Logf("writing %s: %v", a.PortsFile, err)
	}
}

// clear forgets every forward: the machine stopped and took them along.
func (a *Agent) clear() {
	a.mu.Lock()
	a.table = Table{}
	a.connected = false
	a.mu.Unlock()
	a.save()
}
