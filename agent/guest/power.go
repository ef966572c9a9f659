//go:build linux

package guest

import (
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Linux input event constants (linux/input-event-codes.h).
const (
	evKey    = 0x01
	keyPower = 116
	// inputEventSize is struct input_event on 64-bit Linux: a 16-byte
	// timeval, then type, code (u16) and value (s32).
	inputEventSize = 24
)

// isPowerPress reports whether one input_event is the power key going down.
func isPowerPress(ev []byte) bool {
	if len(ev) < inputEventSize {
		return false
	}
	typ := binary.LittleEndian.Uint16(ev[16:])
	code := binary.LittleEndian.Uint16(ev[18:])
	value := int32(binary.LittleEndian.Uint32(ev[20:]))
	return typ == evKey && code == keyPower && value == 1
}

// watchPowerButton calls press when any input device reports KEY_POWER: the
// ACPI power button (modules button + evdev) that QEMU's system_powerdown
// and VirtualBox's acpipowerbutton press. Devices are picked up as they
// appear during the first minute.
func (a *agent) watchPowerButton(ctx context.Context, press func()) {
	seen := map[string]bool{}
	for i := 0; ctx.Err() == nil; i++ {
		paths, _ := filepath.Glob("/dev/input/event*")
		for _, p := range paths {
			if seen[p] {
				continue
			}
			seen[p] = true
			f, err := os.Open(p)
			if err != nil {
				a.log.Logf("input %s: %v", p, err)
				continue
			}
			name, _ := os.ReadFile(filepath.Join("/sys/class/input", filepath.Base(p), "device/name"))
			a.log.Logf("watching %s (%s) for the power key", p, trimNL(name))
			go func() {
				defer f.Close()
				ev := make([]byte, inputEventSize)
				for {
					if _, err := io.ReadFull(f, ev); err != nil {
						return
					}
					if isPowerPress(ev) {
						press()
					}
				}
			}()
		}
		pause := 200 * time.Millisecond
		if i > 50 {
			pause = 5 * time.Second
		}
		if i > 100 {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
}

func trimNL(b []byte) string {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == 0) {
		b = b[:len(b)-1]
	}
	return string(b)
}
