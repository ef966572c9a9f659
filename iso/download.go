package iso

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"github.com/schollz/progressbar/v3"
)

// Names of the download's files in the cache directory. The image is
// written to PartSuffix and renamed into place only when its sha256 matched
// the published one, so FileName is never a partial or wrong image.
const (
	SumSuffix  = ".sha256"      // tender.iso.sha256: the sum the cached image was checked against
	PartSuffix = ".part"        // tender.iso.part: a download in progress, resumed by the next call
	partSum    = ".part.sha256" // which published sum the part belongs to
	lockSuffix = ".lock"
)

// Download fetches the image at url into cacheDir/tender.iso (or
// tender-arm64.iso when that is the URL's file name: see cacheName) and
// returns its path. It first reads url+".sha256" (sha256sum format): a cached image
// with that sum is kept as it is; otherwise the image is downloaded to
// tender.iso.part, resuming an earlier interrupted download with a Range
// request, checked against the sum and only then renamed into place.
//
// Progress goes to progress: a bar when isTTY, otherwise a plain line every
// 10 % or few seconds. When the server cannot be reached at all and an image
// is cached, Download warns and returns the cached one.
//
// url may be http, https or file.
func Download(ctx context.Context, url, cacheDir string, progress io.Writer, isTTY bool) (string, error) {
	d := &downloader{client: newClient(), out: progress, tty: isTTY, every: 5 * time.Second, stall: time.Minute}
	return d.download(ctx, url, cacheDir)
}

// downloader holds what tests change: the client, and how often a plain
// progress line is printed and how long a silent server is waited for.
type downloader struct {
	client *http.Client
	name   string // the image's file name in the cache (see cacheName)
	out    io.Writer
	tty    bool
	every  time.Duration
	stall  time.Duration
}

func newClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 15 * time.Second
	t.ResponseHeaderTimeout = 30 * time.Second
	// iso_url may be a file URL: the file transport answers Range requests
	// and 404s like a server, so both paths share one code.
	t.RegisterProtocol("file", http.NewFileTransport(http.Dir("/")))
	return &http.Client{Transport: t}
}

func (d *downloader) download(ctx context.Context, rawURL, cacheDir string) (string, error) {
	if d.out == nil {
		d.out = io.Discard
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file") {
		return "", fmt.Errorf("the image URL %q is not an http, https or file URL (set `iso_url` in config.yaml or pass --iso-url)", rawURL)
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("creating the cache directory: %w", err)
	}
	d.name = cacheName(u)
	dest := filepath.Join(cacheDir, d.name)
	unlock, err := d.lock(ctx, dest+lockSuffix)
	if err != nil {
		return "", err
	}
	defer unlock()

	want, err := d.fetchSum(ctx, rawURL+SumSuffix)
	if err != nil {
		if isNetworkError(err) {
			return d.offline(dest, u, err)
		}
		return "", err
	}
	if got, err := fileSum(dest); err == nil && got == want {
		_ = writeSumFile(dest+SumSuffix, want)
		fmt.Fprintf(d.out, "the cached image %s is up to date%s\n", dest, versionNote(dest))
		return dest, nil
	}

	part := dest + PartSuffix
	offset := resumeOffset(part, want)
	if offset == 0 {
		if err := os.WriteFile(dest+partSum, []byte(want+"\n"), 0o644); err != nil {
			return "", fmt.Errorf("writing %s: %w", dest+partSum, err)
		}
	}
	got, err := d.fetch(ctx, rawURL, part, offset)
	if errors.Is(err, errRangeNotSatisfiable) {
		// The part is already whole (or longer than the image): check it
		// as it is; a wrong one is dropped below.
		got, err = fileSum(part)
	}
	if err != nil {
		if isNetworkError(err) {
			return d.offline(dest, u, err)
		}
		return "", err
	}
	if got != want {
		os.Remove(part)
		os.Remove(dest + partSum)
		return "", fmt.Errorf("the downloaded image is damaged: its sha256 is %s but %s says %s; it was removed (run `tender download` to fetch it again)", got, rawURL+SumSuffix, want)
	}
	img, err := Open(part)
	if err != nil {
		os.Remove(part)
		os.Remove(dest + partSum)
		return "", fmt.Errorf("the file at %s matches its checksum but is not a tender image: %w", rawURL, err)
	}
	if err := os.Rename(part, dest); err != nil {
		return "", fmt.Errorf("moving the image into place: %w", err)
	}
	os.Remove(dest + partSum)
	if err := writeSumFile(dest+SumSuffix, want); err != nil {
		return "", err
	}
	if v := img.Version(); v != "" {
		fmt.Fprintf(d.out, "saved tender image %s as %s (sha256 verified)\n", v, dest)
	} else {
		fmt.Fprintf(d.out, "saved %s (sha256 verified)\n", dest)
	}
	return dest, nil
}

// lock keeps two tenders from writing the same part file.
func (d *downloader) lock(ctx context.Context, path string) (func(), error) {
	fl := flock.New(path)
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if !ok {
		fmt.Fprintln(d.out, "waiting for another tender downloading the image…")
		if ok, err = fl.TryLockContext(ctx, 200*time.Millisecond); err != nil || !ok {
			return nil, fmt.Errorf("waiting for another tender downloading the image: %w", err)
		}
	}
	return func() { _ = fl.Unlock() }, nil
}

// offline is the answer when the server cannot be reached: the cached image
// with a warning, or an error that says what to do.
func (d *downloader) offline(dest string, u *url.URL, cause error) (string, error) {
	where := u.Host
	if where == "" {
		where = u.Path
	}
	if img, err := Open(dest); err == nil {
		fmt.Fprintf(d.out, "warning: cannot reach %s to check for a newer image (%v); using the cached %s%s\n", where, cause, dest, versionNote(img.Path))
		return dest, nil
	}
	return "", fmt.Errorf("cannot download the tender image: %s cannot be reached (%w); check the network or `iso_url`, or build an image with `make iso` and pass --iso PATH", where, cause)
}

// fetchSum reads a sha256sum-format file and returns the image's sum.
func (d *downloader) fetchSum(ctx context.Context, sumURL string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, sumURL, nil)
	if err != nil {
		return "", err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("fetching the checksum %s: %w", sumURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("fetching the checksum %s: %s (tender uses only images whose sha256 is published beside them; check `iso_url`)", sumURL, resp.Status)
	}
	sum, err := parseSum(io.LimitReader(resp.Body, 64<<10), d.name, path.Base(strings.TrimSuffix(sumURL, SumSuffix)))
	if err != nil {
		return "", fmt.Errorf("reading the checksum %s: %w", sumURL, err)
	}
	return sum, nil
}

// parseSum reads sha256sum output ("HEX  NAME" or "HEX *NAME" lines) and
// returns the sum of the line naming one of names, or of the only line.
func parseSum(r io.Reader, names ...string) (string, error) {
	var sums []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		sum := strings.ToLower(f[0])
		if b, err := hex.DecodeString(sum); err != nil || len(b) != sha256.Size {
			return "", fmt.Errorf("%q is not a sha256 sum", f[0])
		}
		if len(f) > 1 {
			name := path.Base(strings.TrimPrefix(f[1], "*"))
			for _, n := range names {
				if name == n {
					return sum, nil
				}
			}
		}
		sums = append(sums, sum)
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if len(sums) != 1 {
		return "", fmt.Errorf("expected one sha256 line for %s, found %d", names[0], len(sums))
	}
	return sums[0], nil
}

var errRangeNotSatisfiable = errors.New("range not satisfiable")

// fetch downloads url into part, appending from offset when the server
// honours the Range request, and returns the sha256 of the whole part.
func (d *downloader) fetch(ctx context.Context, rawURL, part string, offset int64) (string, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return "", err
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("downloading %s: %w", rawURL, err)
	}
	defer resp.Body.Close()

	total := int64(-1)
	h := sha256.New()
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	switch {
	case offset > 0 && resp.StatusCode == http.StatusPartialContent:
		start, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != offset {
			os.Remove(part)
			return "", fmt.Errorf("downloading %s: the server resumed at the wrong place (Content-Range %q); the partial file was removed, run `tender download` again", rawURL, resp.Header.Get("Content-Range"))
		}
		total = size
		if err := hashFile(h, part); err != nil {
			return "", err
		}
		flags = os.O_WRONLY | os.O_APPEND
	case offset > 0 && resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		return "", errRangeNotSatisfiable
	case resp.StatusCode == http.StatusOK:
		// A server that ignores Range sends the whole file: start over.
		if offset > 0 {
			fmt.Fprintln(d.out, "the server cannot resume downloads; starting again from the beginning")
		}
		offset = 0
		total = resp.ContentLength
	case resp.StatusCode == http.StatusNotFound:
		return "", fmt.Errorf("downloading %s: %s: there is no image at that address (check `iso_url` with `tender config`)", rawURL, resp.Status)
	default:
		return "", fmt.Errorf("downloading %s: the server answered %s (try again later, or check `iso_url`)", rawURL, resp.Status)
	}

	f, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", part, err)
	}
	defer f.Close()

	if offset > 0 {
		fmt.Fprintf(d.out, "resuming the download of %s at %s\n", rawURL, sizeOf(offset))
	} else {
		fmt.Fprintf(d.out, "downloading %s%s\n", rawURL, totalNote(total))
	}
	m := d.meter(offset, total)
	body := &stallReader{r: resp.Body, d: d.stall, cancel: cancel}
	defer body.stop()
	n, err := io.Copy(io.MultiWriter(f, h, m), body)
	m.finish()
	if err == nil {
		err = f.Sync()
	}
	if err == nil && total >= 0 && offset+n < total {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			err = cause
		}
		return "", fmt.Errorf("the download stopped after %s%s: %w (run `tender download` again to resume it)", sizeOf(offset+n), ofTotal(total), err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("writing %s: %w", part, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// parseContentRange reads "bytes START-END/SIZE"; SIZE may be "*" (-1).
func parseContentRange(v string) (start, size int64, ok bool) {
	rest, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, sz, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	s, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	if sz == "*" {
		return start, -1, true
	}
	size, err = strconv.ParseInt(sz, 10, 64)
	return start, size, err == nil
}

// resumeOffset is how much of part can be kept: all of it when it belongs
// to the same published sum, else nothing (and the stale part goes).
func resumeOffset(part, want string) int64 {
	st, err := os.Stat(part)
	if err != nil {
		return 0
	}
	recorded, err := os.ReadFile(strings.TrimSuffix(part, PartSuffix) + partSum)
	if err != nil || strings.TrimSpace(string(recorded)) != want {
		os.Remove(part)
		return 0
	}
	return st.Size()
}

// stallReader cancels the download when the server sends nothing for d.
type stallReader struct {
	r      io.Reader
	d      time.Duration
	cancel context.CancelCauseFunc
	t      *time.Timer
}

func (s *stallReader) Read(p []byte) (int, error) {
	if s.t == nil {
		s.t = time.AfterFunc(s.d, func() {
			s.cancel(fmt.Errorf("the server sent nothing for %s", s.d))
		})
	} else {
		s.t.Reset(s.d)
	}
	return s.r.Read(p)
}

func (s *stallReader) stop() {
	if s.t != nil {
		s.t.Stop()
	}
}

// isNetworkError tells "the server cannot be reached" (no network, DNS,
// refused, timeouts) from answers the server gave.
func isNetworkError(err error) bool {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var timeout interface{ Timeout() bool }
	return errors.As(err, &dnsErr) ||
		(errors.As(err, &opErr) && opErr.Op == "dial") ||
		(errors.As(err, &timeout) && timeout.Timeout())
}

func fileSum(p string) (string, error) {
	h := sha256.New()
	if err := hashFile(h, p); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(h hash.Hash, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(h, f)
	return err
}

func writeSumFile(p, sum string) error {
	name := strings.TrimSuffix(filepath.Base(p), SumSuffix)
	if err := os.WriteFile(p, []byte(sum+"  "+name+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}

func versionNote(p string) string {
	if img, err := Open(p); err == nil && img.Version() != "" {
		return " (version " + img.Version() + ")"
	}
	return ""
}

// meter reports progress as bytes are written through it.
type meter interface {
	io.Writer
	finish()
}

func (d *downloader) meter(offset, total int64) meter {
	if d.tty {
		max := total
		if max <= 0 {
			max = -1
		}
		bar := progressbar.NewOptions64(max,
			progressbar.OptionSetWriter(d.out),
			progressbar.OptionSetDescription(d.name),
			progressbar.OptionShowBytes(true),
			progressbar.OptionUseIECUnits(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowCount(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(d.out) }),
			progressbar.OptionFullWidth(),
		)
		if offset > 0 {
			_ = bar.Set64(offset)
		}
		return &barMeter{bar}
	}
	l := &lineMeter{name: d.name, w: d.out, every: d.every, done: offset, total: total, start: time.Now(), last: time.Now(), startAt: offset}
	if total > 0 {
		l.decile = offset * 10 / total
	}
	return l
}

type barMeter struct{ bar *progressbar.ProgressBar }

func (b *barMeter) Write(p []byte) (int, error) { return b.bar.Write(p) }
func (b *barMeter) finish()                     { _ = b.bar.Finish() }

// lineMeter prints a plain line at each 10 % and at least every few seconds,
// for logs and pipes where a redrawn bar would be noise.
type lineMeter struct {
	name        string
	w           io.Writer
	every       time.Duration
	done, total int64
	startAt     int64
	start, last time.Time
	decile      int64
}

func (l *lineMeter) Write(p []byte) (int, error) {
	l.done += int64(len(p))
	now := time.Now()
	decile := int64(-1)
	if l.total > 0 {
		decile = l.done * 10 / l.total
	}
	if (decile > l.decile && decile < 10) || now.Sub(l.last) >= l.every {
		l.print(now)
		if decile > l.decile {
			l.decile = decile
		}
	}
	return len(p), nil
}

func (l *lineMeter) print(now time.Time) {
	l.last = now
	rate := ""
	if secs := now.Sub(l.start).Seconds(); secs > 0.5 {
		rate = fmt.Sprintf(", %s/s", sizeOf(int64(float64(l.done-l.startAt)/secs)))
	}
	if l.total > 0 {
		fmt.Fprintf(l.w, "downloading %s: %d%% (%s of %s%s)\n", l.name, l.done*100/l.total, sizeOf(l.done), sizeOf(l.total), rate)
		return
	}
	fmt.Fprintf(l.w, "downloading %s: %s%s\n", l.name, sizeOf(l.done), rate)
}

func (l *lineMeter) finish() {
	fmt.Fprintf(l.w, "downloaded %s in %s\n", sizeOf(l.done-l.startAt), time.Since(l.start).Round(100*time.Millisecond))
}

func sizeOf(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func totalNote(total int64) string {
	if total < 0 {
		return ""
	}
	return " (" + sizeOf(total) + ")"
}

func ofTotal(total int64) string {
	if total < 0 {
		return ""
	}
	return " of " + sizeOf(total)
}

// cacheName is the cache file an image URL is stored as: the arm64 image's
// name when the URL ends in it, the amd64 FileName for any other URL (a
// mirror may name its files as it likes).
func cacheName(u *url.URL) string {
	if base := path.Base(u.Path); base == FileNameFor("arm64") {
		return base
	}
	return FileName
}
