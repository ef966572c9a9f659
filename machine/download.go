package machine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/iso"
)

// ImageURL is where new images come from: iso_url from the flags, the
// environment, config.yaml or the builtin default.
func (s *Store) ImageURL(flags config.Layer) (string, error) {
	srcs, err := s.sources("", flags)
	if err != nil {
		return "", err
	}
	settings, err := config.Resolve(srcs...)
	if err != nil {
		return "", err
	}
	return settings.ISOURL, nil
}

// DownloadImage fetches the image at url into the cache (checked against
// its published sha256) and opens it.
func (s *Store) DownloadImage(ctx context.Context, url string) (iso.Image, error) {
	if s.Download == nil {
		return iso.Image{}, errors.New("downloading images is not available in this build (pass --iso PATH)")
	}
	p, err := s.Download(ctx, url, filepath.Join(s.Home, CacheDir))
	if err != nil {
		return iso.Image{}, err
	}
	return iso.Open(p)
}

// downloadImage is init's fallback when no image is found: it downloads one
// from url, or returns notFound (which says how to get one) when it cannot.
func (s *Store) downloadImage(ctx context.Context, url string, notFound error) (iso.Image, error) {
	if s.Download == nil || url == "" {
		return iso.Image{}, notFound
	}
	fmt.Fprintf(s.Progress, "no tender image in %s yet; downloading it\n", filepath.Join(s.Home, CacheDir))
	img, err := s.DownloadImage(ctx, url)
	if err != nil {
		return iso.Image{}, fmt.Errorf("%v; downloading one from %s failed: %w", notFound, url, err)
	}
	return img, nil
}
