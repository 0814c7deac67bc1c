package commands

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"lorabot/bot"
	"lorabot/imagine"
)

// pictureFetchTime bounds the download of an attached picture: the
// command is deferred by then (the router's watchdog), and a CDN slower
// than this is better told about than waited for.
const pictureFetchTime = 30 * time.Second

// Pictures that queued jobs keep from their command's download are
// bounded in all: beyond maxHeldPictures a job keeps only the URL and
// fetches the picture again when it runs, so a long queue of img2img jobs
// cannot hold hundreds of megabytes.
const maxHeldPictures = 128 << 20

var heldPictures atomic.Int64

// holdPicture reserves n bytes of the budget; false when it is spent.
func holdPicture(n int) bool {
	if heldPictures.Add(int64(n)) > maxHeldPictures {
		heldPictures.Add(-int64(n))
		return false
	}
	return true
}

func releasePicture(n int) { heldPictures.Add(-int64(n)) }

// attachedPicture reads the picture attached as option name: nil when
// there is none. It is refused, with one sentence, when Discord says it is
// over the limit (before anything is downloaded), when its bytes are not
// an image, or when its header declares more pixels than the bot takes
// (only the header is decoded, so a 12,000 × 12,000 PNG costs nothing).
func attachedPicture(c *bot.Ctx, a bot.Args, name string) (*imagine.Picture, []byte, error) {
	att, ok := a.Attachment(name)
	if !ok {
		if _, given := a.String(name); given {
			return nil, nil, bot.Failf("Discord did not pass on the attached file; please attach it again.")
		}
		return nil, nil, nil
	}
	if att.Size > imagine.MaxPictureBytes {
		return nil, nil, imagine.PictureTooLarge(att.Filename, int64(att.Size))
	}
	ctx, cancel := context.WithTimeout(context.Background(), pictureFetchTime)
	defer cancel()
	data, err := bot.Download(ctx, att.URL, imagine.MaxPictureBytes)
	if errors.Is(err, bot.ErrTooLarge) {
		return nil, nil, imagine.PictureTooLarge(att.Filename, 0)
	}
	if err != nil {
		c.Log.Warn("could not fetch an attached picture", "err", err)
		return nil, nil, bot.Failf("The attached file could not be fetched from Discord; please try again.")
	}
	pic, err := imagine.CheckPicture(att.Filename, data)
	if err != nil {
		return nil, nil, err
	}
	pic.URL = att.URL
	return &pic, data, nil
}
