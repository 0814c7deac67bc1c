package discordtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// File is one file uploaded as multipart files[n].
type File struct {
	Name        string
	ContentType string
	Size        int64
	Data        []byte
}

// upload is a decoded request body: the JSON (payload_json for multipart)
// and the files in files[n] order.
type upload struct {
	json   []byte
	files  []File
	index  []int // n of each files[n], parallel to files
	size   int64 // bytes of the whole body
	tooBig bool  // over the request cap: not decoded
	// version is the API version the request's path names (9 in "/api/v9/").
	version int
}

// readUpload decodes a JSON or multipart/form-data body of at most limit
// bytes; a larger one is only measured.
func readUpload(r *http.Request, limit int64) (upload, error) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return upload{version: apiVersionOf(r)}, fmt.Errorf("reading the body: %w", err)
	}
	u := upload{size: int64(len(raw)), version: apiVersionOf(r)}
	if u.size > limit {
		n, _ := io.Copy(io.Discard, r.Body)
		u.size += n
		u.tooBig = true
		return u, nil
	}
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		u.json = raw
		return u, nil
	}
	mr := multipart.NewReader(bytes.NewReader(raw), params["boundary"])
	type indexed struct {
		n int
		f File
	}
	var files []indexed
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return upload{}, fmt.Errorf("reading multipart: %w", err)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return upload{}, fmt.Errorf("reading part %q: %w", p.FormName(), err)
		}
		name := p.FormName()
		switch {
		case name == "payload_json":
			u.json = data
		case strings.HasPrefix(name, "files[") && strings.HasSuffix(name, "]"):
			n, err := strconv.Atoi(name[len("files[") : len(name)-1])
			if err != nil {
				return upload{}, fmt.Errorf("part name %q: %w", name, err)
			}
			files = append(files, indexed{n, File{
				Name:        p.FileName(),
				ContentType: p.Header.Get("Content-Type"),
				Size:        int64(len(data)),
				Data:        data,
			}})
		default:
			return upload{}, fmt.Errorf("unexpected multipart part %q", name)
		}
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].n < files[j].n })
	for _, f := range files {
		u.files = append(u.files, f.f)
		u.index = append(u.index, f.n)
	}
	return u, nil
}

// messageData is every message field a bot may send, in any of the
// message-carrying bodies (callback data, webhook execute/edit, channel
// message create/edit). Pointers tell "absent" from "empty".
type messageData struct {
	Content     *string                    `json:"content"`
	Embeds      *[]*discordgo.MessageEmbed `json:"embeds"`
	Components  *[]Component               `json:"components"`
	Attachments *[]attachmentRef           `json:"attachments"`
	Flags       *discordgo.MessageFlags    `json:"flags"`
	// Channel posts only: the message it replies to.
	Reference *struct {
		MessageID       string `json:"message_id"`
		FailIfNotExists *bool  `json:"fail_if_not_exists"`
	} `json:"message_reference"`

	// Autocomplete (callback type 8) only.
	Choices *[]*discordgo.ApplicationCommandOptionChoice `json:"choices"`
	// Modal (callback type 9) only.
	CustomID string `json:"custom_id"`
	Title    string `json:"title"`
}

// attachmentRef is an entry of "attachments": an existing attachment to
// keep (by its id) or metadata for a new file (id = its files[n] index).
type attachmentRef struct {
	ID          json.RawMessage `json:"id"`
	Filename    string          `json:"filename"`
	Description string          `json:"description"`
}

// id returns the reference's id whether sent as a string or a number.
func (a attachmentRef) id() string {
	var s string
	if json.Unmarshal(a.ID, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(a.ID))
}

// apiVersionOf reads the version in the request's path ("v10" is 10).
func apiVersionOf(r *http.Request) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(r.PathValue("apiversion"), "v"))
	return n
}
