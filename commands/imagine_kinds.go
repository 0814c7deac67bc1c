package commands

import (
	"context"
	"errors"
	"fmt"

	"lorabot/a1111"
	"lorabot/bot"
	"lorabot/imagine"
)

// generate runs x on backend as its kind asks: txt2img (a compare's
// cells one after another), img2img from its picture, an upscale of it or a description of it. Upscales and
// descriptions report no progress (A1111 tracks none for them); their
// result has the upscaled image, or none and x.caption.
func (im *imagineCmd) generate(ctx context.Context, x *job, backend int, onProgress func(a1111.Progress)) (*a1111.Txt2ImgResult, error) {
	client := im.deps.Servers.Clients()[backend]
	// Each server names the same checkpoint file by its own title.
	titleOn := func(key string) (string, bool) { return im.deps.Servers.TitleOn(backend, key) }
	if x.req.Kind == imagine.Txt2Img {
		generate := client.Generate
		if x.req.Compare != nil {
			generate = im.compareCells(x, backend, client) // the cells, one after another
		}
		return generate(ctx, x.req.Txt2ImgOn(titleOn), im.deps.ProgressEvery, onProgress)
	}
	pic, err := im.picture(ctx, x)
	if err != nil {
		return nil, err
	}
	switch x.req.Kind {
	case imagine.Img2Img:
		req := a1111.Img2ImgRequest{Txt2ImgRequest: x.req.Txt2ImgOn(titleOn), InitImages: [][]byte{pic}, DenoisingStrength: x.req.Strength}
		return client.GenerateImg2Img(ctx, req, im.deps.ProgressEvery, onProgress)
	case imagine.Upscale:
		res, err := client.ExtraSingleImage(ctx, a1111.ExtrasRequest{Image: pic, UpscalingResize: x.req.Scale, Upscaler1: x.req.Upscaler})
		if err != nil {
			return nil, err
		}
		return &a1111.Txt2ImgResult{Images: [][]byte{res.Image}}, nil
	case imagine.Describe:
		caption, err := client.Interrogate(ctx, pic, x.req.Interrogator)
		if err != nil {
			return nil, err
		}
		x.mu.Lock()
		x.caption = caption
		x.mu.Unlock()
		return &a1111.Txt2ImgResult{}, nil
	}
	return nil, fmt.Errorf("job %s: unknown kind %q", x.id, x.req.Kind)
}

// picture is the image x starts from: the bytes its command fetched, else
// (a job resumed after a restart, or the result's image for a button) the
// file at its URL, checked as the command checks an attachment. A file
// gone from Discord is the job's own failure, not the server's.
func (im *imagineCmd) picture(ctx context.Context, x *job) ([]byte, error) {
	x.mu.Lock()
	pic := x.picture
	x.mu.Unlock()
	if pic != nil {
		return pic, nil
	}
	if x.req.Init == nil || x.req.Init.URL == "" {
		return nil, userFailure{"This job has no picture to start from; please start it again.", nil}
	}
	data, err := fetchPicture(ctx, *x.req.Init)
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	x.picture = data
	x.mu.Unlock()
	return data, nil
}

// fetchPicture downloads p and checks it is the image it was.
func fetchPicture(ctx context.Context, p imagine.Picture) ([]byte, error) {
	data, err := bot.Download(ctx, p.URL, imagine.MaxPictureBytes)
	if errors.Is(err, bot.ErrTooLarge) {
		return nil, imagine.PictureTooLarge(p.Name, 0)
	}
	if err != nil {
		return nil, userFailure{"The picture to start from could not be fetched from Discord (its link may have run out, or its message was deleted); please attach it again.", err}
	}
	if _, err := imagine.CheckPicture(p.Name, data); err != nil {
		return nil, err
	}
	return data, nil
}

// userFailure is a job's own failure that is no image server's doing,
// worded for the user: the queue does not move such a job.
type userFailure struct {
	msg string
	err error
}

func (e userFailure) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}
func (e userFailure) Unwrap() error       { return e.err }
func (e userFailure) UserMessage() string { return e.msg }
