package a1111

// A1111 encodes its answers' images in the samples_format option: PNG by
// default, but JPEG or WEBP when the server's owner chose them to save disk
// (modules/api/api.py encode_pil_to_base64). DecodeTxt2Img hands the bytes
// on as they came; registering the WEBP decoder here lets every image.Decode
// in the program (re-encoding, resizing for Discord) read them too, since
// the standard library knows only PNG, JPEG and GIF.
import _ "golang.org/x/image/webp"
