package civitai

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Info is what the bot keeps of one hash's lookup, found or not. It is
// stored as JSON (Store), so fields may be added later.
type Info struct {
	Hash  string `json:"hash"`  // lower-case, as looked up
	Found bool   `json:"found"` // Civitai knows the hash

	VersionID    int64    `json:"versionId,omitempty"`
	ModelID      int64    `json:"modelId,omitempty"`
	ModelName    string   `json:"modelName,omitempty"`
	VersionName  string   `json:"versionName,omitempty"`
	TrainedWords []string `json:"trainedWords,omitempty"`
	BaseModel    string   `json:"baseModel,omitempty"`
	NSFWLevel    int      `json:"nsfwLevel,omitempty"`
	NSFW         bool     `json:"nsfw,omitempty"` // model.nsfw, or a level of R and above
	PageURL      string   `json:"pageUrl,omitempty"`
	PreviewURL   string   `json:"previewUrl,omitempty"` // https, an image (not a video), of the mildest level offered
	// PreviewNSFW: the preview itself is rated R or above, or not rated
	// at all (level 0), so it is shown only in age-restricted channels
	// whatever a server marks the LoRA.
	PreviewNSFW bool   `json:"previewNsfw,omitempty"`
	Description string `json:"description,omitempty"` // plain text, at most MaxDescription runes

	Checked  time.Time `json:"checked"`            // the last answer (found or 404)
	Failures int       `json:"failures,omitempty"` // faults since that answer
	NextTry  time.Time `json:"nextTry,omitzero"`   // after a fault: not before this
}

// Store keeps Infos by hash. store.DB implements it in bbolt.
type Store interface {
	CivitaiInfo(hash string) (Info, bool, error)
	PutCivitaiInfo(Info) error
}

// MaxDescription bounds a kept description, in runes.
const MaxDescription = 600

// maxWords and maxWordLen bound the trained words kept: a LoRA's own are a
// handful; a long list would swamp every prompt.
const (
	maxWords   = 12
	maxWordLen = 200
)

// PageURL is the model page of a version on civitai.com.
func PageURL(modelID, versionID int64) string {
	if modelID == 0 {
		return ""
	}
	if versionID == 0 {
		return fmt.Sprintf("https://civitai.com/models/%d", modelID)
	}
	return fmt.Sprintf("https://civitai.com/models/%d?modelVersionId=%d", modelID, versionID)
}

// InfoOf reduces Civitai's answer for hash to what is kept: trained words
// trimmed, deduplicated and bounded; the description stripped of markup;
// the preview the mildest still image with an https URL.
func InfoOf(hash string, v Version, now time.Time) Info {
	in := Info{
		Hash: strings.ToLower(hash), Found: true, Checked: now,
		VersionID: v.ID, ModelID: v.ModelID,
		ModelName:   clipRunes(plain(v.Model.Name), 200),
		VersionName: clipRunes(plain(v.Name), 200),
		BaseModel:   clipRunes(plain(v.BaseModel), 60),
		NSFWLevel:   v.NSFWLevel,
		NSFW:        v.Model.NSFW || v.NSFWLevel&nsfwBits != 0,
		PageURL:     PageURL(v.ModelID, v.ID),
	}
	seen := map[string]bool{}
	for _, w := range v.TrainedWords {
		// Civitai's trained words are free text: a word may itself be a
		// comma-separated list.
		for p := range strings.SplitSeq(w, ",") {
			p = clipRunes(plain(p), maxWordLen)
			k := strings.ToLower(p)
			if p == "" || seen[k] || len(in.TrainedWords) == maxWords {
				continue
			}
			seen[k] = true
			in.TrainedWords = append(in.TrainedWords, p)
		}
	}
	if v.Description != nil {
		in.Description = StripHTML(*v.Description, MaxDescription)
	}
	// The mildest rated image; an unrated one (level 0) only when there is
	// no other, and then taken for age-restricted.
	rank := func(level int) int {
		if level <= 0 {
			return 1 << 30
		}
		return level
	}
	best := -1
	for i, im := range v.Images {
		if im.Type != "" && im.Type != "image" || !isHTTPS(im.URL) {
			continue
		}
		if best < 0 || rank(im.NSFWLevel) < rank(v.Images[best].NSFWLevel) {
			best = i
		}
	}
	if best >= 0 {
		in.PreviewURL = v.Images[best].URL
		level := v.Images[best].NSFWLevel
		in.PreviewNSFW = level <= 0 || level&nsfwBits != 0
		if level&nsfwBits != 0 {
			in.NSFW = true
		}
	}
	return in
}

// isHTTPS accepts only a well-formed https URL of reasonable length, for an
// embed image (Discord fetches it) or a link.
func isHTTPS(s string) bool {
	if len(s) > 1024 {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != ""
}

// plain is s on one line, without control characters or markup brackets.
func plain(s string) string {
	s = StripHTML(s, 1<<16)
	return strings.TrimSpace(s)
}
