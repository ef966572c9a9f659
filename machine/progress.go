package machine

import (
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress shows what a long wait is waiting for. On a terminal it redraws
// one line with the elapsed time; elsewhere it prints a line per step.
type progress struct {
	w     io.Writer
	start time.Time
	tty   bool
	mu    sync.Mutex
	what  string
	stop  chan struct{}
	wg    sync.WaitGroup
}

func newProgress(w io.Writer, start time.Time) *progress {
	p := &progress{w: w, start: start, stop: make(chan struct{})}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		p.wg.Add(1)
		go p.redraw()
	}
	return p
}

func (p *progress) set(what string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.what = what
	if !p.tty {
		fmt.Fprintf(p.w, "%s… (%.0fs)\n", what, time.Since(p.start).Seconds())
	}
}

func (p *progress) redraw() {
	defer p.wg.Done()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			fmt.Fprint(p.w, "\r\033[K")
			return
		case <-t.C:
			p.mu.Lock()
			fmt.Fprintf(p.w, "\r\033[K%s… %.0fs", p.what, time.Since(p.start).Seconds())
			p.mu.Unlock()
		}
	}
}

func (p *progress) done() {
	if p.tty {
		close(p.stop)
		p.wg.Wait()
	}
}

func encodeBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
