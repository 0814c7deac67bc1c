package app_test

import (
	"strings"
	"testing"

	"lorabot/bot/discordtest"
	"lorabot/civitai/civitaitest"
)

func TestCheckSaysWhetherCivitaiLookupsAreOnAndAnswer(t *testing.T) {
	e := newCheckEnv(t, discordtest.Options{})
	out, err := e.run(t)
	if err != nil || !strings.Contains(out, "Civitai lookups are off (CIVITAI=off)") {
		t.Errorf("CIVITAI=off: %v\n%s", err, out)
	}

	fake := civitaitest.Start(t, civitaitest.Options{})
	e.cfg.Civitai, e.cfg.CivitaiAPIURL, e.cfg.CivitaiAPIKey = true, fake.URL(), "civ-s3cret-key"
	out, err = e.run(t)
	if err != nil || !strings.Contains(out, "✓ Civitai lookups are on: Civitai answers") {
		t.Errorf("Civitai answering: %v\n%s", err, out)
	}
	if strings.Contains(out, "civ-s3cret-key") {
		t.Errorf("the Civitai key shows in the check:\n%s", out)
	}

	fake.SetFault(civitaitest.Fault500)
	out, err = e.run(t)
	if err != nil {
		t.Errorf("Civitai is optional: its failure should not fail the check: %v", err)
	}
	if !strings.Contains(out, "⚠ Civitai lookups are on, but Civitai does not answer") {
		t.Errorf("Civitai failing:\n%s", out)
	}
}
