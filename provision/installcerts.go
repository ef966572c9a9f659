package provision

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/shellquote"
)

// GuestTLSDir is where dockerd in the guest finds its certificates.
const GuestTLSDir = api.TLSDir

// RemoteFile is a file to put on the guest with Upload.
type RemoteFile struct {
	Name string // base name inside the target directory
	Data []byte
	Mode fs.FileMode
}

// Upload writes files into the existing guest directory dir over SFTP, each
// with its mode, as the guest user.
func (c *Client) Upload(ctx context.Context, dir string, files []RemoteFile) error {
	sc, err := c.sftp()
	if err != nil {
		return err
	}
	defer sc.Close()
	stop := context.AfterFunc(ctx, func() { sc.Close() })
	defer stop()
	for _, f := range files {
		if f.Name == "" || f.Name == "." || f.Name == ".." || strings.Contains(f.Name, "/") {
			return fmt.Errorf("uploading %q: the name must be a plain file name", f.Name)
		}
		p := path.Join(dir, f.Name)
		w, err := remoteFS{sc}.Create(p)
		if err != nil {
			return ctxErr(ctx, fmt.Errorf("creating guest file %s: %w", p, err))
		}
		_, err = w.Write(f.Data)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = sc.Chmod(p, f.Mode.Perm())
		}
		if err != nil {
			return ctxErr(ctx, fmt.Errorf("writing guest file %s: %w", p, err))
		}
	}
	return nil
}

// InstallServerCerts replaces dockerd's certificates in the guest
// (GuestTLSDir) with ca, cert and key (PEM), then restarts dockerd through
// the guest agent, for `tender regenerate-certs` and for `up` when the guest
// serves a stale cert. The files go over SFTP into a private temporary
// directory and are moved into place with sudo install, the key 0600.
func InstallServerCerts(ctx context.Context, c *Client, ca, cert, key []byte) error {
	return installServerCerts(ctx, c, GuestTLSDir, ca, cert, key)
}

// installServerCerts is InstallServerCerts into dir.
func installServerCerts(ctx context.Context, c *Client, dir string, ca, cert, key []byte) error {
	if len(ca) == 0 || len(cert) == 0 || len(key) == 0 {
		return errors.New("installing server certs: the CA, the certificate and the key are all required")
	}
	out, err := c.Output(ctx, "mktemp -d")
	if err != nil {
		return fmt.Errorf("installing server certs: %w", err)
	}
	tmp := strings.TrimSpace(string(out))
	if !path.IsAbs(tmp) {
		return fmt.Errorf("installing server certs: mktemp -d printed %q", tmp)
	}
	defer func() {
		// The key must not linger in /tmp, even when ctx has ended.
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, _ = c.Run(cleanup, "rm -rf "+shellquote.Quote(tmp), nil, nil, nil)
	}()

	files := []RemoteFile{
		{Name: path.Base(api.CACertFile), Data: ca, Mode: 0o644},
		{Name: path.Base(api.ServerCertFile), Data: cert, Mode: 0o644},
		{Name: path.Base(api.ServerKeyFile), Data: key, Mode: 0o600},
	}
	if err := c.Upload(ctx, tmp, files); err != nil {
		return fmt.Errorf("installing server certs: %w", err)
	}
	script := []string{"sudo mkdir -p -m 0755 " + shellquote.Quote(dir)}
	for _, f := range files {
		script = append(script, fmt.Sprintf("sudo install -m %04o %s %s",
			f.Mode.Perm(), shellquote.Quote(path.Join(tmp, f.Name)), shellquote.Quote(path.Join(dir, f.Name))))
	}
	if _, err := c.Output(ctx, strings.Join(script, " && ")); err != nil {
		return fmt.Errorf("installing server certs: %w", err)
	}
	if _, err := c.Agent(ctx, api.RestartDocker()); err != nil {
		return fmt.Errorf("restarting docker after installing server certs: %w", err)
	}
	return nil
}
