package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
)

// qmpTimeout bounds one QMP exchange when the caller's context has no
// deadline: QEMU serves one monitor client at a time and keeps a second one
// waiting, silent, in the listen backlog.
const qmpTimeout = 10 * time.Second

// qmpMessage is any line QEMU sends: the greeting, a reply, or an event.
type qmpMessage struct {
	QMP    json.RawMessage `json:"QMP"`
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
	Event string `json:"event"`
}

type qmpCommand struct {
	Execute   string `json:"execute"`
	Arguments any    `json:"arguments,omitempty"`
}

// qmpRun connects to the monitor at network/addr, negotiates capabilities,
// runs one command and returns its "return" value. It honours ctx (and
// qmpTimeout when ctx has no deadline) at every step.
//
// Why not github.com/digitalocean/go-qemu/qmp: its SocketMonitor takes no
// context and hides its connection, so Connect and Run block forever when
// another client holds QEMU's single monitor slot (`tender down` must give
// up after 30 s, and the host agent must not leak goroutines stuck on it);
// it also links go-libvirt. The protocol needed here is three JSON lines.
func qmpRun(ctx context.Context, network, addr, command string, args any) (json.RawMessage, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, qmpTimeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to QMP at %s: %w", addr, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	dec := json.NewDecoder(conn)
	enc := json.NewEncoder(conn)
	wrap := func(err error) error {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", err, ctx.Err())
		}
		return fmt.Errorf("qmp %s: %w", command, err)
	}

	var greeting qmpMessage
	if err := dec.Decode(&greeting); err != nil {
		return nil, wrap(fmt.Errorf("reading the greeting: %w", err))
	}
	if greeting.QMP == nil {
		return nil, wrap(errors.New("the monitor did not greet with QMP"))
	}
	for _, c := range []qmpCommand{{Execute: "qmp_capabilities"}, {Execute: command, Arguments: args}} {
		if err := enc.Encode(c); err != nil {
			return nil, wrap(err)
		}
		for {
			var m qmpMessage
			if err := dec.Decode(&m); err != nil {
				return nil, wrap(fmt.Errorf("reading the reply to %s: %w", c.Execute, err))
			}
			if m.Event != "" {
				continue // asynchronous events (SHUTDOWN, RESET, …) may come first
			}
			if m.Error != nil {
				return nil, fmt.Errorf("qmp %s: %s: %s", c.Execute, m.Error.Class, m.Error.Desc)
			}
			if c.Execute == command {
				return m.Return, nil
			}
			break
		}
	}
	return nil, nil // unreachable: the loop returns on the command's reply
}
