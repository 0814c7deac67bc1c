package discordtest

import (
	"bytes"
	"image"
	_ "image/jpeg" // DecodeConfig of what a test attaches
	_ "image/png"
	"mime"
	"net/url"
	"path"

	"github.com/bwmarrin/discordgo"
)

// AttachmentOption is an attachment option: the user uploads data as
// filename with the command. Discord stores the file on its CDN first,
// sends the attachment's ID as the option's value and the file's details
// in data.resolved.attachments: its URL (served by this fake), size,
// content_type from the file name's extension (Discord believes the name,
// so a text file renamed .png arrives as image/png), and width and height
// when the file is an image Discord can read.
func AttachmentOption(name, filename string, data []byte) Option {
	return Option{Name: name, Type: discordgo.ApplicationCommandOptionAttachment, upload: &Attachment{Filename: filename, Data: data}}
}

// storeUploadsLocked gives each attachment option's file an ID and a URL,
// sets the option's value to the ID, and gathers the resolved attachments.
func (s *Server) storeUploadsLocked(opts []Option, into map[string]any) {
	for i := range opts {
		o := &opts[i]
		if a := o.upload; a != nil {
			id := s.nextID()
			stored := *a
			stored.ID, stored.Size = id, int64(len(a.Data))
			stored.ContentType = mime.TypeByExtension(path.Ext(a.Filename))
			stored.URL = s.base + "/attachments/" + id + "/" + url.PathEscape(a.Filename)
			s.uploads[id] = &stored
			o.Value = id
			w := map[string]any{"id": id, "filename": stored.Filename, "size": stored.Size, "url": stored.URL, "proxy_url": stored.URL}
			if stored.ContentType != "" {
				w["content_type"] = stored.ContentType
			}
			if cfg, _, err := image.DecodeConfig(bytes.NewReader(a.Data)); err == nil {
				w["width"], w["height"] = cfg.Width, cfg.Height
			}
			into[id] = w
		}
		s.storeUploadsLocked(o.Options, into)
	}
}
