package commands

import (
	"context"
	"errors"
	"time"

	"lorabot/bot"
	"lorabot/imagine"
)

// pictureFetchTime bounds the download of an attached picture: the
// command is deferred by then (the router's watchdog), and a CDN slower
// than this is better told about than waited for.
const pictureFetchTime = 30 * time.Second

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
		return nil, nil, bot.Failf("The file %q is %.1f MiB; attach an image of at most %d MiB.", att.Filename, float64(att.Size)/(1<<20), imagine.MaxPictureBytes>>20)
	}
	ctx, cancel := context.WithTimeout(context.Background(), pictureFetchTime)
	defer cancel()
	data, err := bot.Download(ctx, att.URL, imagine.MaxPictureBytes)
	if errors.Is(err, bot.ErrTooLarge) {
		return nil, nil, bot.Failf("The file %q is larger than %d MiB; attach a smaller image.", att.Filename, imagine.MaxPictureBytes>>20)
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
