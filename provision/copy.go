package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"

	"github.com/pkg/sftp"
)

// CopyArg is one side of `tender cp`: a local path, or a path in the guest of
// Machine.
type CopyArg struct {
	Machine string // empty for a local path
	Path    string
}

// Remote reports whether a names a path in a guest.
func (a CopyArg) Remote() bool { return a.Machine != "" }

// machineNameRE is what ParseCopyArg accepts before the colon of NAME:path.
// It is compiled on first use, not by package initialisation, which every
// tender command pays.
var machineNameRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
})

// ParseCopyArg splits NAME:path into the machine and the guest path, like
// scp: the text before the first colon is a machine name when it contains no
// path separator. Anything else is a local path, including ./a:b, /x:y and,
// on Windows, drive paths such as C:\x and C:x. An empty guest path (NAME:)
// means the guest user's home.
func ParseCopyArg(arg string) CopyArg {
	return parseCopyArg(arg, runtime.GOOS == "windows")
}

// parseCopyArg is ParseCopyArg with the host OS as a parameter, so both
// flavours are tested everywhere.
func parseCopyArg(arg string, windows bool) CopyArg {
	name, p, ok := strings.Cut(arg, ":")
	if !ok || !machineNameRE().MatchString(name) {
		return CopyArg{Path: arg}
	}
	if windows && len(name) == 1 {
		// A drive letter: C:\x, C:/x, or C:x (relative to drive C's
		// current directory).
		return CopyArg{Path: arg}
	}
	return CopyArg{Machine: name, Path: p}
}

// meantAsMachine reports whether arg, a local path to ParseCopyArg, looks
// like NAME:path with a NAME that is not a valid one ("my vm:/tmp"): text
// before a colon with no path separator in it, not a drive letter.
func meantAsMachine(arg string) (string, bool) {
	name, _, ok := strings.Cut(arg, ":")
	if !ok || len(name) < 2 || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return "", false
	}
	return name, true
}

// CopyMachine returns the machine that a copy from src to dst talks to, and
// an error unless exactly one side is in a guest.
func CopyMachine(src, dst string) (string, error) {
	s, d := ParseCopyArg(src), ParseCopyArg(dst)
	switch {
	case s.Remote() && d.Remote():
		return "", fmt.Errorf("both %q and %q are in a machine: one side of a copy must be a local path", src, dst)
	case !s.Remote() && !d.Remote():
		for _, arg := range []string{src, dst} {
			if name, ok := meantAsMachine(arg); ok {
				return "", fmt.Errorf("invalid machine name %q in %q: a name has letters, digits, '.', '_' and '-', starting with a letter or digit (for a local path with a colon, write ./%s)", name, arg, arg)
			}
		}
		return "", fmt.Errorf("neither %q nor %q is in a machine: name the guest side NAME:path, as in `tender cp file.txt default:`", src, dst)
	case s.Remote():
		return s.Machine, nil
	default:
		return d.Machine, nil
	}
}

// Copy copies src to dst over SFTP; exactly one of them is NAME:path (the
// machine name is not checked: c is the connection to it). Files and
// directory trees go both ways, keeping permission bits and modification
// times; symbolic links inside a tree are copied as links. As with cp -r,
// when dst is an existing directory, src is copied into it under its own
// name. A relative guest path, ~ or ~/x is relative to the guest user's home
// directory (/home/docker).
func (c *Client) Copy(ctx context.Context, src, dst string) error {
	if _, err := CopyMachine(src, dst); err != nil {
		return err
	}
	sc, err := c.sftp()
	if err != nil {
		return err
	}
	defer sc.Close()
	stop := context.AfterFunc(ctx, func() { sc.Close() })
	defer stop()

	home, err := sc.Getwd()
	if err != nil || !path.IsAbs(home) {
		home = GuestHome
	}
	local, remote := localFS{}, remoteFS{sc}
	s, d := ParseCopyArg(src), ParseCopyArg(dst)
	if s.Remote() {
		from, err := resolveGuestPath(s.Path, home)
		if err != nil {
			return err
		}
		err = copyPath(ctx, remote, from, local, d.Path)
		return ctxErr(ctx, err)
	}
	to, err := resolveGuestPath(d.Path, home)
	if err != nil {
		return err
	}
	return ctxErr(ctx, copyPath(ctx, local, s.Path, remote, to))
}

// sftp opens an SFTP session.
func (c *Client) sftp() (*sftp.Client, error) {
	sc, err := sftp.NewClient(c.conn)
	if err != nil {
		return nil, fmt.Errorf("ssh: starting sftp: %w", err)
	}
	return sc, nil
}

// ctxErr prefers ctx's cause to the error a closed connection produced.
func ctxErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("copy interrupted: %w", context.Cause(ctx))
	}
	return err
}

// resolveGuestPath makes p absolute: relative paths, ~ and ~/x are under
// home.
func resolveGuestPath(p, home string) (string, error) {
	switch {
	case p == "" || p == "~":
		return home, nil
	case strings.HasPrefix(p, "~/"):
		return path.Join(home, p[2:]), nil
	case strings.HasPrefix(p, "~"):
		return "", fmt.Errorf("guest path %q: only ~ and ~/ are supported, not ~user", p)
	case path.IsAbs(p):
		return path.Clean(p), nil
	default:
		return path.Join(home, p), nil
	}
}

// copyFS is the part of a filesystem a copy needs; localFS and remoteFS
// make one copy routine serve both directions.
type copyFS interface {
	Stat(name string) (fs.FileInfo, error) // follows links
	ReadDir(name string) ([]fs.FileInfo, error)
	Open(name string) (io.ReadCloser, error)
	Create(name string) (io.WriteCloser, error) // truncates
	Mkdir(name string) error
	Chmod(name string, mode fs.FileMode) error
	Chtimes(name string, info fs.FileInfo) error
	Readlink(name string) (string, error)
	Symlink(target, name string) error
	Join(elem ...string) string
	Base(name string) string
	String() string // "local" or "guest", for errors
}

// copyPath copies src (following a link there) to dst, or into dst when dst
// is an existing directory.
func copyPath(ctx context.Context, from copyFS, src string, to copyFS, dst string) error {
	info, err := from.Stat(src)
	if err != nil {
		return fmt.Errorf("copying %s %s: %w", from, src, err)
	}
	target := dst
	di, err := to.Stat(dst)
	switch {
	case err == nil && di.IsDir():
		target = to.Join(dst, from.Base(src))
	case err == nil && info.IsDir():
		return fmt.Errorf("copying %s directory %s: %s %s exists and is not a directory", from, src, to, dst)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("copying to %s %s: %w", to, dst, err)
	}
	return copyEntry(ctx, from, src, info, to, target)
}

// copyEntry copies one file, link or directory tree whose source info is
// known.
func copyEntry(ctx context.Context, from copyFS, src string, info fs.FileInfo, to copyFS, dst string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	mode := info.Mode()
	switch {
	case mode.IsRegular():
		if err := copyFile(from, src, to, dst); err != nil {
			return err
		}
	case mode.IsDir():
		if err := copyDir(ctx, from, src, to, dst); err != nil {
			return err
		}
	case mode&fs.ModeSymlink != 0:
		target, err := from.Readlink(src)
		if err != nil {
			return fmt.Errorf("reading %s link %s: %w", from, src, err)
		}
		if err := to.Symlink(target, dst); err != nil {
			return fmt.Errorf("making %s link %s: %w", to, dst, err)
		}
		return nil
	default:
		return fmt.Errorf("copying %s %s: not a regular file, directory or symbolic link (%s)", from, src, mode.Type())
	}
	if err := to.Chmod(dst, mode.Perm()); err != nil {
		return fmt.Errorf("setting the mode of %s %s: %w", to, dst, err)
	}
	if err := to.Chtimes(dst, info); err != nil {
		return fmt.Errorf("setting the time of %s %s: %w", to, dst, err)
	}
	return nil
}

// copyFile copies a regular file's contents.
func copyFile(from copyFS, src string, to copyFS, dst string) error {
	r, err := from.Open(src)
	if err != nil {
		return fmt.Errorf("opening %s %s: %w", from, src, err)
	}
	defer r.Close()
	w, err := to.Create(dst)
	if err != nil {
		return fmt.Errorf("creating %s %s: %w", to, dst, err)
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return fmt.Errorf("copying %s %s to %s %s: %w", from, src, to, dst, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("writing %s %s: %w", to, dst, err)
	}
	return nil
}

// copyDir copies a directory's entries into dst, making dst if needed. The
// caller sets dst's mode afterwards, so a read-only source directory can
// still be filled.
func copyDir(ctx context.Context, from copyFS, src string, to copyFS, dst string) error {
	if err := to.Mkdir(dst); err != nil && !errors.Is(err, fs.ErrExist) {
		if di, serr := to.Stat(dst); serr != nil || !di.IsDir() {
			return fmt.Errorf("making %s directory %s: %w", to, dst, err)
		}
	}
	entries, err := from.ReadDir(src)
	if err != nil {
		return fmt.Errorf("reading %s directory %s: %w", from, src, err)
	}
	for _, e := range entries {
		if err := copyEntry(ctx, from, from.Join(src, e.Name()), e, to, to.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// localFS is the host's filesystem.
type localFS struct{}

func (localFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }
func (localFS) ReadDir(name string) ([]fs.FileInfo, error) {
	entries, err := os.ReadDir(name)
	if err != nil {
		return nil, err
	}
	infos := make([]fs.FileInfo, 0, len(entries))
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		infos = append(infos, info)
	}
	return infos, nil
}
func (localFS) Open(name string) (io.ReadCloser, error) { return os.Open(name) }
func (localFS) Create(name string) (io.WriteCloser, error) {
	// 0600 until Chmod gives the source's mode: the file may be a secret.
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
}
func (localFS) Mkdir(name string) error                   { return os.Mkdir(name, 0o700) }
func (localFS) Chmod(name string, mode fs.FileMode) error { return os.Chmod(name, mode) }
func (localFS) Chtimes(name string, info fs.FileInfo) error {
	return os.Chtimes(name, info.ModTime(), info.ModTime())
}
func (localFS) Readlink(name string) (string, error) { return os.Readlink(name) }
func (localFS) Symlink(target, name string) error    { return os.Symlink(target, name) }
func (localFS) Join(elem ...string) string           { return filepath.Join(elem...) }
func (localFS) Base(name string) string              { return filepath.Base(name) }
func (localFS) String() string                       { return "local" }

// remoteFS is the guest's filesystem over SFTP; paths are absolute.
type remoteFS struct{ sc *sftp.Client }

func (r remoteFS) Stat(name string) (fs.FileInfo, error)      { return r.sc.Stat(name) }
func (r remoteFS) ReadDir(name string) ([]fs.FileInfo, error) { return r.sc.ReadDir(name) }
func (r remoteFS) Open(name string) (io.ReadCloser, error)    { return r.sc.Open(name) }
func (r remoteFS) Create(name string) (io.WriteCloser, error) {
	f, err := r.sc.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return nil, err
	}
	// 0600 until Chmod gives the source's mode: the file may be a secret.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
func (r remoteFS) Mkdir(name string) error                   { return r.sc.Mkdir(name) }
func (r remoteFS) Chmod(name string, mode fs.FileMode) error { return r.sc.Chmod(name, mode) }
func (r remoteFS) Chtimes(name string, info fs.FileInfo) error {
	return r.sc.Chtimes(name, info.ModTime(), info.ModTime())
}
func (r remoteFS) Readlink(name string) (string, error) { return r.sc.ReadLink(name) }
func (r remoteFS) Symlink(target, name string) error    { return r.sc.Symlink(target, name) }
func (remoteFS) Join(elem ...string) string             { return path.Join(elem...) }
func (remoteFS) Base(name string) string                { return path.Base(name) }
func (remoteFS) String() string                         { return "guest" }
