package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// downloads fetches the files users attach (Discord's CDN): its own client,
// so that a slow CDN never holds the session's connections.
var downloads = &http.Client{Timeout: 60 * time.Second}

// ErrTooLarge is Download's error for a file over its limit.
var ErrTooLarge = errors.New("file over the size limit")

// Download fetches an attachment's file from url, reading at most limit
// bytes: a larger file fails with ErrTooLarge without being read to its
// end. The URL comes from Discord (an attachment's url), never from what a
// user typed.
func Download(ctx context.Context, url string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("download attachment: %w", err)
	}
	resp, err := downloads.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download attachment: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download attachment: Discord answered %s", resp.Status)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("download attachment of %d bytes: %w", resp.ContentLength, ErrTooLarge)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("download attachment: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("download attachment: %w", ErrTooLarge)
	}
	return data, nil
}
