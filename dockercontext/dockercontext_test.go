package dockercontext

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tenderdev/tender/internal/testfakes"
	"github.com/tenderdev/tender/provision"
)

type pki struct {
	ca             *provision.CA
	server, client provision.KeyPair
}

func newPKI(t *testing.T) pki {
	t.Helper()
	ca, err := provision.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.IssueServer("tender-default")
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.IssueClient("test client")
	if err != nil {
		t.Fatal(err)
	}
	return pki{ca, server, client}
}

func (p pki) context(name, host string) Context {
	return Context{Name: name, Description: "tender machine", Host: host, CA: p.ca.CertPEM, Cert: p.client.CertPEM, Key: p.client.KeyPEM}
}

func TestWriteLaysOutDockersStore(t *testing.T) {
	dir := t.TempDir()
	p := newPKI(t)
	if err := Write(dir, p.context("tender", "tcp://127.0.0.1:2376")); err != nil {
		t.Fatal(err)
	}
	// The directory is named by the hex sha256 of "tender".
	const id = "a9eba7c405ea67a1992992d7464ad4f04b7e8dffa39e249c6b26aaa54cc853de"
	data, err := os.ReadFile(filepath.Join(dir, "contexts", "meta", id, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Name":"tender","Metadata":{"Description":"tender machine"},"Endpoints":{"docker":{"Host":"tcp://127.0.0.1:2376","SkipTLSVerify":false}}}`
	if string(data) != want {
		t.Errorf("meta.json:\n got %s\nwant %s", data, want)
	}
	key := filepath.Join(dir, "contexts", "tls", id, "docker", "key.pem")
	if st, err := os.Stat(key); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key.pem: %v, %v", st, err)
	}
}

func TestUseAndRemoveKeepOtherSettings(t *testing.T) {
	dir := t.TempDir()
	p := newPKI(t)
	orig := `{"auths": {"registry.example.com": {"auth": "eA=="}}, "currentContext": "colima", "psFormat": "table {{.ID}}"}`
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(orig), 0o600)
	if err := Use(dir, "tender"); err == nil || err.Error() != `docker context "tender" does not exist` {
		t.Fatalf("Use of a missing context: %v", err)
	}
	if err := Write(dir, p.context("tender", "tcp://127.0.0.1:2376")); err != nil {
		t.Fatal(err)
	}
	if err := Use(dir, "tender"); err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	data, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["currentContext"] != "tender" || cfg["psFormat"] != "table {{.ID}}" || cfg["auths"].(map[string]any)["registry.example.com"] == nil {
		t.Errorf("config.json after Use: %s", data)
	}
	if st, _ := os.Stat(filepath.Join(dir, "config.json")); st.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode %v", st.Mode().Perm())
	}

	was, err := Remove(dir, "tender")
	if err != nil || !was {
		t.Fatalf("Remove = %v, %v", was, err)
	}
	if Exists(dir, "tender") {
		t.Error("context still there")
	}
	if _, err := os.Stat(tlsDir(dir, "tender")); err == nil {
		t.Error("TLS material still there")
	}
	data, _ = os.ReadFile(filepath.Join(dir, "config.json"))
	if strings.Contains(string(data), "currentContext") || !strings.Contains(string(data), "psFormat") {
		t.Errorf("config.json after Remove: %s", data)
	}
	// Removing a context that is not current leaves config.json alone.
	Write(dir, p.context("tender-dev", "tcp://127.0.0.1:2377"))
	before, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if was, err := Remove(dir, "tender-dev"); err != nil || was {
		t.Fatalf("Remove = %v, %v", was, err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if !bytes.Equal(before, after) {
		t.Errorf("config.json changed:\n%s\n%s", before, after)
	}
}

func TestBrokenConfigIsNotOverwritten(t *testing.T) {
	dir := t.TempDir()
	p := newPKI(t)
	Write(dir, p.context("tender", "tcp://127.0.0.1:2376"))
	os.WriteFile(filepath.Join(dir, "config.json"), []byte("{not json"), 0o600)
	err := Use(dir, "tender")
	if err == nil || !strings.Contains(err.Error(), "is not valid JSON") || !strings.Contains(err.Error(), "tender does not overwrite it") {
		t.Fatalf("err = %v", err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "config.json")); string(data) != "{not json" {
		t.Errorf("config.json was changed: %s", data)
	}
}

func TestInvalidName(t *testing.T) {
	if err := Write(t.TempDir(), Context{Name: "-x"}); err == nil {
		t.Fatal("accepted -x")
	}
}

func TestDir(t *testing.T) {
	if d, _ := Dir(func(k string) string { return map[string]string{"DOCKER_CONFIG": "/x/docker"}[k] }); d != "/x/docker" {
		t.Errorf("DOCKER_CONFIG: %q", d)
	}
	home, _ := os.UserHomeDir()
	if d, _ := Dir(func(string) string { return "" }); d != filepath.Join(home, ".docker") {
		t.Errorf("default: %q", d)
	}
}

// docker runs the real docker CLI with DOCKER_CONFIG=dir.
func docker(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("docker", args...)
	// The variables that would override the context are left out, not set
	// empty: the 20.10 CLI (Debian 12's docker.io) takes an empty
	// DOCKER_HOST as set and then ignores currentContext.
	cmd.Env = []string{"DOCKER_CONFIG=" + dir}
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "DOCKER_CONFIG", "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY":
		default:
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func needDocker(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("the docker CLI is not installed")
	}
}

// The real docker CLI reads what Write wrote: inspect shows the endpoint and
// the TLS material, and with no daemon listening, `docker --context tender
// version` fails to connect rather than to read its configuration.
func TestDockerCLIReadsTheContext(t *testing.T) {
	needDocker(t)
	dir := t.TempDir()
	p := newPKI(t)
	host := "tcp://127.0.0.1:" + strconv.Itoa(testfakes.FreeTCPPort(t))
	if err := Write(dir, p.context("tender", host)); err != nil {
		t.Fatal(err)
	}
	out, err := docker(t, dir, "context", "inspect", "tender")
	if err != nil {
		t.Fatalf("docker context inspect: %v\n%s", err, out)
	}
	var got []struct {
		Name      string
		Metadata  struct{ Description string }
		Endpoints struct {
			Docker struct {
				Host          string
				SkipTLSVerify bool
			} `json:"docker"`
		}
		TLSMaterial struct {
			Docker []string `json:"docker"`
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(got) != 1 || got[0].Name != "tender" || got[0].Endpoints.Docker.Host != host || got[0].Metadata.Description != "tender machine" ||
		strings.Join(got[0].TLSMaterial.Docker, ",") != "ca.pem,cert.pem,key.pem" {
		t.Errorf("docker context inspect:\n%s", out)
	}

	out, err = docker(t, dir, "--context", "tender", "version")
	if err == nil {
		t.Fatalf("docker version succeeded with no daemon:\n%s", out)
	}
	if !strings.Contains(out, "Cannot connect to the Docker daemon at "+host) {
		t.Errorf("want a connection error for %s, got:\n%s", host, out)
	}

	if err := Use(dir, "tender"); err != nil {
		t.Fatal(err)
	}
	// `docker context inspect` with no name is the current context; unlike
	// `docker context show` (added in 23.0) it is also in the 20.10 CLI
	// that Debian 12's docker.io installs.
	out, err = docker(t, dir, "context", "inspect", "--format", "{{.Name}}")
	if err != nil || strings.TrimSpace(out) != "tender" {
		t.Errorf("current docker context: %v %q", err, out)
	}
	if _, err := Remove(dir, "tender"); err != nil {
		t.Fatal(err)
	}
	out, err = docker(t, dir, "context", "inspect", "--format", "{{.Name}}")
	if err != nil || strings.TrimSpace(out) != "default" {
		t.Errorf("after Remove, current docker context: %v %q", err, out)
	}
}

// Against a stand-in daemon that demands a client certificate from the CA,
// the docker CLI connects with the context's TLS material and nothing else.
func TestDockerCLIConnectsWithTheContextsCertificates(t *testing.T) {
	needDocker(t)
	p := newPKI(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.45")
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/_ping") {
			w.Write([]byte("OK"))
			return
		}
		if strings.HasSuffix(r.URL.Path, "/version") {
			w.Write([]byte(`{"Version":"26.1.5","ApiVersion":"1.45","MinAPIVersion":"1.24","Os":"linux","Arch":"amd64","GoVersion":"go1.22"}`))
			return
		}
		http.NotFound(w, r)
	}))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.ca.CertPEM)
	cert, err := tls.X509KeyPair(p.server.CertPEM, p.server.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	defer srv.Close()

	dir := t.TempDir()
	if err := Write(dir, p.context("tender", "tcp://"+srv.Listener.Addr().String())); err != nil {
		t.Fatal(err)
	}
	out, err := docker(t, dir, "--context", "tender", "version", "--format", "{{.Server.Version}}")
	if err != nil || strings.TrimSpace(out) != "26.1.5" {
		t.Fatalf("docker --context tender version: %v\n%s", err, out)
	}
}
