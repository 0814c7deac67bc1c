package discordtest

import (
	"slices"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// BenchmarkInteractionRoundTrip measures one slash command through the
// fake and a real discordgo session: dispatch, deferral, one edit.
func BenchmarkInteractionRoundTrip(b *testing.B) {
	srv := New(b, Options{})
	redirectEndpoints(srv.APIURL())
	dg, err := discordgo.New("Bot " + srv.Token())
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	content := "done"
	dg.AddHandler(func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		if err := s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		}); err != nil {
			done <- err
			return
		}
		_, err := s.InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Content: &content})
		done <- err
	})
	if err := dg.Open(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { closeSession(srv, dg) })
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		it := srv.SendCommand(CommandSpec{Name: "bench"})
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		cb, _ := it.Response()
		lat = append(lat, cb.Latency)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "ack-median-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "ack-p99-µs")
}
