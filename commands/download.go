package commands

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/iso"
)

func downloadCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:  "download",
		Usage: "download the latest tender image into the cache",
		Description: `Fetches the image from iso_url (see ` + "`tender config`" + `) and its published .sha256
into $TENDER_HOME/cache/tender.iso. The image is written beside it first and
renamed into place only once its sha256 matched, so the cache never holds a
partial or damaged image; an interrupted download is resumed by running the
command again. A cached image that is already the latest is kept as it is.
Without a network the cached image, if any, is kept with a warning.

Machines that boot the cached image use the new one at their next start;
` + "`tender upgrade`" + ` downloads and restarts a machine in one go.

   tender download
   tender download --iso-url https://example.com/tender.iso`,
		Flags: []cli.Flag{&cli.StringFlag{Name: "iso-url", Usage: "where to get the image (default: iso_url)"}},
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return fmt.Errorf("too many arguments: %q (`tender download` takes no arguments; use --iso-url URL)", c.Args().Slice())
			}
			var flags config.Layer
			if c.IsSet("iso-url") {
				if err := flags.Set(config.KeyISOURL, c.String("iso-url")); err != nil {
					return err
				}
			}
			st, err := env.store(c)
			if err != nil {
				return err
			}
			url, err := st.ImageURL(flags)
			if err != nil {
				return err
			}
			img, err := st.DownloadImage(c.Context, url)
			if err != nil {
				return err
			}
			fmt.Fprintln(env.Stdout, img.Path)
			return nil
		},
	}
}

// downloader is the machine store's image downloader: iso.Download with
// progress on stderr, a bar when stderr is a terminal.
func (env *Env) downloader() func(ctx context.Context, url, cacheDir string) (string, error) {
	if env.Download != nil {
		return env.Download
	}
	tty := isTerminal(env.Stderr)
	return func(ctx context.Context, url, cacheDir string) (string, error) {
		return iso.Download(ctx, url, cacheDir, env.Stderr, tty)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
