// Command fake-a1111 runs the test fake of the A1111 API on its own, for
// trying the bot by hand without a GPU:
//
//	go run ./cmd/fake-a1111 -addr 127.0.0.1:7860 -step 50ms -loras 500
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"lorabot/a1111/a1111test"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7860", "listen address")
	step := flag.Duration("step", 50*time.Millisecond, "time per sampling step")
	loras := flag.Int("loras", 0, "serve a generated catalog of this many LoRAs (0: the 8-entry sample)")
	auth := flag.String("auth", "", "require HTTP Basic auth, user:pass (like --api-auth)")
	flavor := flag.String("flavor", "a1111", "which server to play: a1111, forge or sdnext (error shapes, samplers, LoRA and checkpoint naming)")
	noisy := flag.Bool("noisy", false, "photo-like PNGs (about 1.3 MB at 1024x1024)")
	old := flag.Bool("old", false, "act as A1111 before 1.9 (no /schedulers, unknown samplers are a 404)")
	switchTime := flag.Duration("switch", 2*time.Second, "time to load a checkpoint whose weights are not in memory")
	noWebUI := flag.Bool("nowebui", false, "act as A1111 started with --nowebui (no /internal/ping, /internal/progress)")
	unhashed := flag.String("unhashed", "", "comma-separated checkpoints not hashed yet (e.g. sdxl/animagine-xl-3.1.safetensors): listed without [hash]")
	upscalers := flag.String("upscalers", "", "comma-separated upscaler names to list (default: A1111's own plus 4x-UltraSharp)")
	noDanbooru := flag.Bool("no-deepdanbooru", false, "interrogate with deepdanbooru fails as an offline install without its weights")
	idle := flag.Duration("idle", 0, "close idle keep-alive connections after this long (0: 5s, 30s with -nowebui)")
	flag.Parse()

	opts := a1111test.Options{
		Addr: *addr, StepTime: *step, APIAuth: *auth, NoisyImages: *noisy,
		OldServer: *old, ModelSwitchTime: *switchTime, NoWebUI: *noWebUI, IdleTimeout: *idle,
	}
	if *upscalers != "" {
		opts.Upscalers = strings.Split(*upscalers, ",")
	}
	opts.NoDeepDanbooru = *noDanbooru
	if *unhashed != "" {
		opts.Unhashed = strings.Split(*unhashed, ",")
	}
	switch *flavor {
	case "a1111":
	case "forge":
		opts.Flavor = a1111test.FlavorForge
	case "sdnext":
		opts.Flavor = a1111test.FlavorSDNext
	default:
		fmt.Fprintf(os.Stderr, "fake-a1111: -flavor must be a1111, forge or sdnext, not %q\n", *flavor)
		os.Exit(2)
	}
	if *loras > 0 {
		opts.LoRAsJSON = a1111test.LoRAsJSON(*loras)
	}
	srv, err := start(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fake-a1111: %v\n", err)
		os.Exit(1)
	}
	slog.Info("fake A1111 listening", "url", srv.URL(), "step", *step, "auth", *auth != "")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	srv.Close()
}

// start turns NewServer's panic on a busy port into an error.
func start(opts a1111test.Options) (srv *a1111test.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return a1111test.NewServer(opts), nil
}
