// Package civitai looks LoRAs up on Civitai's public API by the hash of
// their file, and keeps what it learnt: trained words, base model, NSFW
// level, the model page and a preview URL. Lookups run in the background
// (Looker), rate-limited, and never block anything: the bot works the same
// with Civitai unreachable, on what the LoRAs' own metadata says.
//
// Nothing Civitai sends is trusted as markup: descriptions are HTML and are
// reduced to bounded plain text (StripHTML); URLs are kept only when they
// are https.
package civitai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultAPIURL is CIVITAI_API_URL's default.
const DefaultAPIURL = "https://civitai.com/api/v1/"

// Version is GET model-versions/by-hash/{hash} as Civitai answers it,
// reduced to the fields the bot reads. Unknown fields are ignored.
type Version struct {
	ID           int64    `json:"id"`
	ModelID      int64    `json:"modelId"`
	Name         string   `json:"name"`
	BaseModel    string   `json:"baseModel"` // "SD 1.5", "SDXL 1.0", "Pony", "Illustrious", "Flux.1 D", ...
	TrainedWords []string `json:"trainedWords"`
	Description  *string  `json:"description"` // HTML, often null
	NSFWLevel    int      `json:"nsfwLevel"`   // a bit set of NSFWLevel values
	Model        struct {
		Name string `json:"name"`
		Type string `json:"type"` // "LORA", "LoCon", "Checkpoint", ...
		NSFW bool   `json:"nsfw"`
	} `json:"model"`
	Images []Image `json:"images"`
	Files  []File  `json:"files"`
}

// Image is one of a version's preview images.
type Image struct {
	URL       string `json:"url"`
	NSFWLevel int    `json:"nsfwLevel"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
	Type      string `json:"type"` // "image" or "video"
}

// File is one of a version's files, with the hashes Civitai computed.
type File struct {
	Name    string            `json:"name"`
	Primary bool              `json:"primary"`
	Hashes  map[string]string `json:"hashes"` // "SHA256", "AutoV1", "AutoV2", "AutoV3", "CRC32", "BLAKE3"
}

// Civitai's browsing levels, the bits of nsfwLevel.
const (
	LevelPG   = 1
	LevelPG13 = 2
	LevelR    = 4
	LevelX    = 8
	LevelXXX  = 16
)

// nsfwBits are the levels the bot counts as age-restricted: Civitai's own
// "mature" and above.
const nsfwBits = LevelR | LevelX | LevelXXX | 32

// ErrNotFound: Civitai does not know the hash (HTTP 404). It is an answer,
// not a fault: kept, and asked again only at the weekly refresh.
var ErrNotFound = errors.New("civitai does not know this hash")

// RateLimitError is a 429: nothing should be asked before After.
type RateLimitError struct {
	After time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("civitai: too many requests; retry after %v", e.After)
}

// DefaultRetryAfter is the wait after a 429 without a usable Retry-After.
const DefaultRetryAfter = time.Minute

// maxBody bounds one answer: a version with dozens of images is tens of
// kilobytes.
const maxBody = 4 << 20

// Client asks Civitai's API. Its API key, when set, is sent as a Bearer
// token and never appears in errors or logs.
type Client struct {
	base string // ends with "/"
	key  string
	hc   *http.Client
}

// DefaultRequestTimeout bounds one lookup: a hung Civitai costs the
// background looker this much, and nothing else.
const DefaultRequestTimeout = 15 * time.Second

// New returns a client of the API at base (CIVITAI_API_URL). hc nil: a
// client with DefaultRequestTimeout.
func New(base, key string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("civitai: %q is not an http(s) URL like %s", base, DefaultAPIURL)
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	if hc == nil {
		hc = &http.Client{Timeout: DefaultRequestTimeout}
	}
	return &Client{base: base, key: key, hc: hc}, nil
}

// String names the API in logs (no key).
func (c *Client) String() string { return c.base }

// ByHash looks a file hash up (GET model-versions/by-hash/{hash}). A 404
// is ErrNotFound, a 429 a *RateLimitError; any other failure (5xx,
// malformed JSON, a timeout) is an error to retry later.
func (c *Client) ByHash(ctx context.Context, hash string) (Version, error) {
	var v Version
	hash = strings.TrimSpace(hash)
	if hash == "" || strings.ContainsAny(hash, "/?#% ") {
		return v, fmt.Errorf("civitai: %q is not a hash", hash)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"model-versions/by-hash/"+url.PathEscape(hash), nil)
	if err != nil {
		return v, fmt.Errorf("civitai: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "lorabot")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return v, fmt.Errorf("civitai by-hash %s: %w", short(hash), scrub(err, c.key))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return v, ErrNotFound
	case resp.StatusCode == http.StatusTooManyRequests:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return v, &RateLimitError{After: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return v, fmt.Errorf("civitai by-hash %s: HTTP %d", short(hash), resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return v, fmt.Errorf("civitai by-hash %s: reading the answer: %w", short(hash), scrub(err, c.key))
	}
	if len(data) > maxBody {
		return v, fmt.Errorf("civitai by-hash %s: answer larger than %d bytes", short(hash), maxBody)
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return Version{}, fmt.Errorf("civitai by-hash %s: malformed answer: %w", short(hash), err)
	}
	if v.ID == 0 {
		return Version{}, fmt.Errorf("civitai by-hash %s: the answer names no model version", short(hash))
	}
	return v, nil
}

// retryAfter reads Retry-After (seconds or an HTTP date), bounded to a
// day; DefaultRetryAfter when absent or unreadable.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	var d time.Duration
	if n, err := strconv.Atoi(h); err == nil && n >= 0 {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	} else {
		return DefaultRetryAfter
	}
	return min(max(d, time.Second), 24*time.Hour)
}

// short is a hash as logs show it.
func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

// scrub keeps the API key out of an error's text, whatever wrapped it.
func scrub(err error, key string) error {
	if key == "" || !strings.Contains(err.Error(), key) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), key, "***"))
}
