package a1111

import (
	"io"
)

// DecodeTxt2Img reads a txt2img (or img2img) answer as it streams in:
// each image's base64 is decoded straight into its PNG bytes, the request
// echo in "parameters" is skipped unread, and "info" is parsed leniently (see
// ParseInfo). A "data:image/png;base64," prefix on an image is accepted.
//
// The error wraps errSyntax-style detail when the JSON is malformed or cut;
// Client methods turn it into an *Error of KindBadResponse.
func DecodeTxt2Img(r io.Reader) (*Txt2ImgResult, error) {
	s := newScanner(r)
	res := &Txt2ImgResult{}
	var sink b64Sink
	err := s.object(func(key []byte) error {
		switch string(key) {
		case "images":
			c, err := s.peek()
			if err != nil {
				return err
			}
			if c != '[' {
				return s.skipValue() // null: no images
			}
			return s.array(func() error {
				c, err := s.peek()
				if err != nil {
					return err
				}
				if c != '"' {
					return s.skipValue()
				}
				_, _ = s.r.ReadByte()
				img, err := s.streamBase64(&sink)
				if err != nil {
					return err
				}
				if len(img) > 0 {
					res.Images = append(res.Images, img)
				}
				return nil
			})
		case "info":
			c, err := s.peek()
			if err != nil {
				return err
			}
			switch c {
			case '"':
				str, err := s.readString()
				if err != nil {
					return err
				}
				res.Info = ParseInfo(str)
			case '{':
				raw, err := s.captureValue()
				if err != nil {
					return err
				}
				res.Info = ParseInfo(string(raw))
			default:
				return s.skipValue()
			}
			return nil
		default:
			return s.skipValue()
		}
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
