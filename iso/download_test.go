package iso

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenderdev/tender/internal/testfakes"
)

// image makes a file tender accepts as an ISO of the given version, size
// bytes long, with varied content so a misplaced byte changes the sum.
func image(version string, size int) []byte {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7 % 251)
	}
	testfakes.StampISO(data, "tender-v"+version)
	return data
}

func sumOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// server serves an image at /tender.iso and its sum at /tender.iso.sha256,
// and records the Range header of each image request.
type server struct {
	*httptest.Server
	data   []byte
	sum    string // published sum; default: the right one
	mu     sync.Mutex
	ranges []string
	// image, when set, replaces the default image handler.
	image func(w http.ResponseWriter, r *http.Request)
}

func newServer(t *testing.T, data []byte) *server {
	s := &server{data: data, sum: sumOf(data)}
	mux := http.NewServeMux()
	mux.HandleFunc("/tender.iso.sha256", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(s.sum + "  tender.iso\n"))
	})
	mux.HandleFunc("/tender.iso", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.ranges = append(s.ranges, r.Header.Get("Range"))
		s.mu.Unlock()
		if s.image != nil {
			s.image(w, r)
			return
		}
		http.ServeContent(w, r, "tender.iso", time.Time{}, bytes.NewReader(s.data))
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *server) imageRequests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

func testDownloader(out *bytes.Buffer) *downloader {
	return &downloader{client: newClient(), out: out, every: time.Hour, stall: 5 * time.Second}
}

func checkCached(t *testing.T, dir string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("cached image differs from the served one (%d bytes, want %d)", len(got), len(want))
	}
	sum, err := os.ReadFile(filepath.Join(dir, FileName+SumSuffix))
	if err != nil || string(sum) != sumOf(want)+"  tender.iso\n" {
		t.Errorf("tender.iso.sha256 = %q, %v", sum, err)
	}
	for _, leftover := range []string{PartSuffix, partSum} {
		if _, err := os.Stat(filepath.Join(dir, FileName+leftover)); err == nil {
			t.Errorf("%s left behind", FileName+leftover)
		}
	}
}

func TestDownloadSuccess(t *testing.T) {
	data := image("1.2.3", 300<<10)
	srv := newServer(t, data)
	dir := t.TempDir()
	var out bytes.Buffer
	p, err := Download(context.Background(), srv.URL+"/tender.iso", dir, &out, false)
	if err != nil {
		t.Fatal(err)
	}
	if p != filepath.Join(dir, FileName) {
		t.Errorf("path = %q", p)
	}
	checkCached(t, dir, data)
	for _, want := range []string{"downloading " + srv.URL + "/tender.iso (300.0 KiB)\n", "saved tender image 1.2.3 as " + p + " (sha256 verified)\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	// A second download finds the cached image up to date and fetches
	// only the sum.
	out.Reset()
	if _, err := Download(context.Background(), srv.URL+"/tender.iso", dir, &out, false); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.imageRequests()); n != 1 {
		t.Errorf("image fetched %d times, want once", n)
	}
	if !strings.Contains(out.String(), "is up to date (version 1.2.3)") {
		t.Errorf("output: %s", out.String())
	}
}

func TestDownloadProgressBarOnTerminal(t *testing.T) {
	data := image("1.2.3", 300<<10)
	srv := newServer(t, data)
	var out bytes.Buffer
	if _, err := Download(context.Background(), srv.URL+"/tender.iso", t.TempDir(), &out, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "100%") || !strings.Contains(out.String(), "\r") {
		t.Errorf("no progress bar drawn: %q", out.String())
	}
}

func TestDownload404(t *testing.T) {
	srv := newServer(t, nil)
	srv.image = func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }
	dir := t.TempDir()
	_, err := Download(context.Background(), srv.URL+"/tender.iso", dir, &bytes.Buffer{}, false)
	want := "downloading " + srv.URL + "/tender.iso: 404 Not Found: there is no image at that address (check `iso_url` with `tender config`)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err == nil {
		t.Error("tender.iso exists after a 404")
	}

	// No published checksum: refused before the image is fetched.
	_, err = Download(context.Background(), srv.URL+"/nothing/tender.iso", dir, &bytes.Buffer{}, false)
	if err == nil || !strings.Contains(err.Error(), "tender.iso.sha256: 404 Not Found (tender uses only images whose sha256 is published") {
		t.Fatalf("err = %v", err)
	}
}

func TestDownloadServerError(t *testing.T) {
	srv := newServer(t, nil)
	srv.image = func(w http.ResponseWriter, r *http.Request) { http.Error(w, "busy", http.StatusServiceUnavailable) }
	_, err := Download(context.Background(), srv.URL+"/tender.iso", t.TempDir(), &bytes.Buffer{}, false)
	if err == nil || !strings.Contains(err.Error(), "the server answered 503 Service Unavailable (try again later") {
		t.Fatalf("err = %v", err)
	}
}

func TestDownloadChecksumMismatch(t *testing.T) {
	data := image("1.2.3", 100<<10)
	srv := newServer(t, data)
	srv.sum = sumOf([]byte("something else"))
	dir := t.TempDir()
	// An older image in the cache must survive a bad download.
	old := image("1.0.0", 40<<10)
	os.WriteFile(filepath.Join(dir, FileName), old, 0o644)

	_, err := Download(context.Background(), srv.URL+"/tender.iso", dir, &bytes.Buffer{}, false)
	if err == nil || !strings.Contains(err.Error(), "the downloaded image is damaged: its sha256 is "+sumOf(data)+" but "+srv.URL+"/tender.iso.sha256 says "+srv.sum) {
		t.Fatalf("err = %v", err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, FileName))
	if !bytes.Equal(got, old) {
		t.Error("the cached image was replaced by a damaged download")
	}
	if _, err := os.Stat(filepath.Join(dir, FileName+PartSuffix)); err == nil {
		t.Error("the damaged part was kept")
	}
}

// The server drops the connection half-way; the next call resumes with a
// Range request and ends with the whole, verified image.
func TestDownloadResumesAfterInterruption(t *testing.T) {
	data := image("1.2.3", 256<<10)
	srv := newServer(t, data)
	half := len(data) / 2
	srv.image = func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") == "" {
			w.Header().Set("Content-Length", "262144")
			w.Write(data[:half])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // drop the connection mid-body
		}
		http.ServeContent(w, r, "tender.iso", time.Time{}, bytes.NewReader(data))
	}
	dir := t.TempDir()
	var out bytes.Buffer
	_, err := Download(context.Background(), srv.URL+"/tender.iso", dir, &out, false)
	if err == nil || !strings.Contains(err.Error(), "the download stopped after 128.0 KiB of 256.0 KiB") || !strings.Contains(err.Error(), "run `tender download` again to resume it") {
		t.Fatalf("first call: err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err == nil {
		t.Fatal("a partial image was put in place")
	}
	if st, err := os.Stat(filepath.Join(dir, FileName+PartSuffix)); err != nil || st.Size() != int64(half) {
		t.Fatalf("part: %v, %v", st, err)
	}

	out.Reset()
	if _, err := Download(context.Background(), srv.URL+"/tender.iso", dir, &out, false); err != nil {
		t.Fatal(err)
	}
	checkCached(t, dir, data)
	reqs := srv.imageRequests()
	if len(reqs) != 2 || reqs[1] != "bytes=131072-" {
		t.Errorf("image requests' Range headers = %q, want the second to be bytes=131072-", reqs)
	}
	if !strings.Contains(out.String(), "resuming the download of "+srv.URL+"/tender.iso at 128.0 KiB\n") {
		t.Errorf("output: %s", out.String())
	}
}

// A part that was damaged on disk between the interruption and the resume
// (a byte flipped in what was already fetched): the resumed download's
// sha256 is the whole part's, so it does not match; the part is dropped,
// the cache never holds the bad image, and the next download starts over.
func TestDownloadResumedOverADamagedPart(t *testing.T) {
	data := image("1.2.3", 256<<10)
	srv := newServer(t, data)
	half := len(data) / 2
	cut := true
	srv.image = func(w http.ResponseWriter, r *http.Request) {
		if cut && r.Header.Get("Range") == "" {
			cut = false
			w.Header().Set("Content-Length", "262144")
			w.Write(data[:half])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		http.ServeContent(w, r, "tender.iso", time.Time{}, bytes.NewReader(data))
	}
	dir := t.TempDir()
	var out bytes.Buffer
	if _, err := Download(context.Background(), srv.URL+"/tender.iso", dir, &out, false); err == nil {
		t.Fatal("the cut download succeeded")
	}
	part := filepath.Join(dir, FileName+PartSuffix)
	f, err := os.OpenFile(part, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{data[100] ^ 0xff}, 100); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Download(context.Background(), srv.URL+"/tender.iso", dir, &out, false)
	if err == nil || !strings.Contains(err.Error(), "the downloaded image is damaged") || !strings.Contains(err.Error(), "it was removed") {
		t.Fatalf("resumed over a damaged part: %v", err)
	}
	for _, name := range []string{FileName, FileName + PartSuffix} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s is there after the damaged download", name)
		}
	}
	if _, err := Download(context.Background(), srv.URL+"/tender.iso", dir, &out, false); err != nil {
		t.Fatal(err)
	}
	checkCached(t, dir, data)
}

// A server that ignores Range answers 200 with the whole file: the part is
// rewritten from the start, not appended to.
func TestDownloadServerIgnoringRangeStartsOver(t *testing.T) {
	data := image("1.2.3", 64<<10)
	srv := newServer(t, data)
	srv.image = func(w http.ResponseWriter, r *http.Request) { w.Write(data) }
	dir := t.TempDir()
	dest := filepath.Join(dir, FileName)
	os.WriteFile(dest+PartSuffix, data[:1000], 0o644)
	os.WriteFile(dest+partSum, []byte(sumOf(data)+"\n"), 0o644)
	var out bytes.Buffer
	if _, err := Download(context.Background(), srv.URL+"/tender.iso", dir, &out, false); err != nil {
		t.Fatal(err)
	}
	checkCached(t, dir, data)
	if reqs := srv.imageRequests(); len(reqs) != 1 || reqs[0] != "bytes=1000-" {
		t.Errorf("Range headers = %q", reqs)
	}
	if !strings.Contains(out.String(), "the server cannot resume downloads; starting again from the beginning") {
		t.Errorf("output: %s", out.String())
	}
}

// A part left by a download of another image (the release moved on) is
// not resumed: it would splice two images.
func TestDownloadDropsPartOfAnotherImage(t *testing.T) {
	data := image("1.2.3", 64<<10)
	srv := newServer(t, data)
	dir := t.TempDir()
	dest := filepath.Join(dir, FileName)
	os.WriteFile(dest+PartSuffix, image("1.0.0", 64<<10)[:5000], 0o644)
	os.WriteFile(dest+partSum, []byte(sumOf([]byte("old"))+"\n"), 0o644)
	if _, err := Download(context.Background(), srv.URL+"/tender.iso", dir, &bytes.Buffer{}, false); err != nil {
		t.Fatal(err)
	}
	checkCached(t, dir, data)
	if reqs := srv.imageRequests(); len(reqs) != 1 || reqs[0] != "" {
		t.Errorf("Range headers = %q, want one request without Range", reqs)
	}
}

// A whole part (the earlier call died before the rename) makes the server
// answer 416 to the Range request; the part is checked and used.
func TestDownloadCompletePart(t *testing.T) {
	data := image("1.2.3", 64<<10)
	srv := newServer(t, data)
	dir := t.TempDir()
	dest := filepath.Join(dir, FileName)
	os.WriteFile(dest+PartSuffix, data, 0o644)
	os.WriteFile(dest+partSum, []byte(sumOf(data)+"\n"), 0o644)
	if _, err := Download(context.Background(), srv.URL+"/tender.iso", dir, &bytes.Buffer{}, false); err != nil {
		t.Fatal(err)
	}
	checkCached(t, dir, data)
}

func TestDownloadFollowsRedirects(t *testing.T) {
	data := image("2.0.0", 64<<10)
	srv := newServer(t, data)
	mux := http.NewServeMux()
	mux.HandleFunc("/releases/latest/download/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, srv.URL+"/"+filepath.Base(r.URL.Path), http.StatusFound)
	})
	front := httptest.NewServer(mux)
	defer front.Close()
	dir := t.TempDir()
	if _, err := Download(context.Background(), front.URL+"/releases/latest/download/tender.iso", dir, &bytes.Buffer{}, false); err != nil {
		t.Fatal(err)
	}
	checkCached(t, dir, data)
}

func TestDownloadFileURL(t *testing.T) {
	data := image("3.0.0", 64<<10)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "tender.iso"), data, 0o644)
	os.WriteFile(filepath.Join(src, "tender.iso.sha256"), []byte(sumOf(data)+"  out/tender.iso\n"), 0o644)
	dir := t.TempDir()
	if _, err := Download(context.Background(), "file://"+filepath.ToSlash(src)+"/tender.iso", dir, &bytes.Buffer{}, false); err != nil {
		t.Fatal(err)
	}
	checkCached(t, dir, data)
}

// On a slow server, a plain progress line appears at each 10 % and every
// few seconds even when the size is unknown.
func TestDownloadProgressLinesOnSlowServer(t *testing.T) {
	data := image("1.2.3", 200<<10)
	for _, sized := range []bool{true, false} {
		srv := newServer(t, data)
		srv.image = func(w http.ResponseWriter, r *http.Request) {
			if sized {
				w.Header().Set("Content-Length", "204800")
			}
			for chunk := range 20 {
				w.Write(data[chunk*len(data)/20 : (chunk+1)*len(data)/20])
				w.(http.Flusher).Flush()
				time.Sleep(15 * time.Millisecond)
			}
		}
		var out bytes.Buffer
		d := testDownloader(&out)
		d.every = 40 * time.Millisecond
		if _, err := d.download(context.Background(), srv.URL+"/tender.iso", t.TempDir()); err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(l, "downloading tender.iso: ") {
				lines = append(lines, l)
			}
		}
		if len(lines) < 5 {
			t.Errorf("sized=%v: %d progress lines, want at least 5:\n%s", sized, len(lines), out.String())
		}
		if sized && !strings.Contains(out.String(), "downloading tender.iso: 50% (100.0 KiB of 200.0 KiB") {
			t.Errorf("no 50%% line:\n%s", out.String())
		}
		if !sized && !strings.Contains(lines[0], " KiB") {
			t.Errorf("unsized line: %q", lines[0])
		}
		if !strings.Contains(out.String(), "downloaded 200.0 KiB in ") {
			t.Errorf("no closing line:\n%s", out.String())
		}
	}
}

// A server that stops sending is given up on, and the part kept.
func TestDownloadStalledServer(t *testing.T) {
	data := image("1.2.3", 64<<10)
	srv := newServer(t, data)
	release := make(chan struct{})
	defer close(release)
	srv.image = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "65536")
		w.Write(data[:40000])
		w.(http.Flusher).Flush()
		<-release
	}
	d := testDownloader(&bytes.Buffer{})
	d.stall = 100 * time.Millisecond
	_, err := d.download(context.Background(), srv.URL+"/tender.iso", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "the server sent nothing for 100ms (run `tender download` again to resume it)") {
		t.Fatalf("err = %v", err)
	}
}

func closedPortURL(t *testing.T) string {
	return "http://127.0.0.1:" + strconv.Itoa(testfakes.FreeTCPPort(t)) + "/tender.iso"
}

func TestDownloadNoNetwork(t *testing.T) {
	u := closedPortURL(t)
	host := strings.TrimSuffix(strings.TrimPrefix(u, "http://"), "/tender.iso")

	// Nothing cached: a clear error with the way out.
	dir := t.TempDir()
	_, err := Download(context.Background(), u, dir, &bytes.Buffer{}, false)
	if err == nil || !strings.HasPrefix(err.Error(), "cannot download the tender image: "+host+" cannot be reached (") ||
		!strings.HasSuffix(err.Error(), "check the network or `iso_url`, or build an image with `make iso` and pass --iso PATH") ||
		!strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v", err)
	}

	// An image cached: used, with a warning.
	cached := filepath.Join(dir, FileName)
	os.WriteFile(cached, image("1.0.0", 40<<10), 0o644)
	var out bytes.Buffer
	p, err := Download(context.Background(), u, dir, &out, false)
	if err != nil || p != cached {
		t.Fatalf("Download = %q, %v; want the cached image", p, err)
	}
	if !strings.HasPrefix(out.String(), "warning: cannot reach "+host+" to check for a newer image (") || !strings.HasSuffix(out.String(), "; using the cached "+cached+" (version 1.0.0)\n") {
		t.Errorf("output: %q", out.String())
	}
}

func TestDownloadRejectsOtherSchemes(t *testing.T) {
	_, err := Download(context.Background(), "ftp://example.com/tender.iso", t.TempDir(), &bytes.Buffer{}, false)
	if err == nil || !strings.Contains(err.Error(), "is not an http, https or file URL") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseSum(t *testing.T) {
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	cases := []struct {
		in, want, err string
	}{
		{a + "  tender.iso\n", a, ""},
		{a + " *tender.iso\n", a, ""},
		{a + "\n", a, ""},
		{strings.ToUpper(a) + "  out/tender.iso\n", a, ""},
		{b + "  tender-arm64.iso\n" + a + "  tender.iso\n", a, ""},
		{b + "  x.iso\n" + a + "  y.iso\n", "", "expected one sha256 line for tender.iso, found 2"},
		{"", "", "expected one sha256 line for tender.iso, found 0"},
		{"deadbeef  tender.iso\n", "", `"deadbeef" is not a sha256 sum`},
		{"<html>not found</html>\n", "", `"<html>not" is not a sha256 sum`},
	}
	for _, c := range cases {
		got, err := parseSum(strings.NewReader(c.in), "tender.iso")
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("parseSum(%q) error = %v, want %s", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("parseSum(%q) = %q, %v", c.in, got, err)
		}
	}
}

func TestParseContentRange(t *testing.T) {
	cases := []struct {
		in          string
		start, size int64
		ok          bool
	}{
		{"bytes 100-199/200", 100, 200, true},
		{"bytes 100-199/*", 100, -1, true},
		{"bytes */200", 0, 0, false},
		{"items 1-2/3", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, c := range cases {
		start, size, ok := parseContentRange(c.in)
		if start != c.start || size != c.size || ok != c.ok {
			t.Errorf("parseContentRange(%q) = %d, %d, %v", c.in, start, size, ok)
		}
	}
}

func TestCacheName(t *testing.T) {
	for raw, want := range map[string]string{
		"https://github.com/tenderdev/tender/releases/latest/download/tender.iso":       "tender.iso",
		"https://github.com/tenderdev/tender/releases/latest/download/tender-arm64.iso": "tender-arm64.iso",
		"file:///srv/mirror/tender-arm64.iso":                                           "tender-arm64.iso",
		"https://mirror.example.com/images/latest":                                      "tender.iso",
	} {
		u, _ := url.Parse(raw)
		if got := cacheName(u); got != want {
			t.Errorf("cacheName(%s) = %q, want %q", raw, got, want)
		}
	}
}
