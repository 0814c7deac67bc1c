// Command lorabot is a Discord bot that generates images with Stable
// Diffusion and LoRAs through an AUTOMATIC1111 WebUI.
//
//	lorabot          run the bot
//	lorabot check    check the settings, A1111 and Discord, and print the invite link
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/joho/godotenv"

	"lorabot/app"
	"lorabot/config"
)

func main() {
	// A missing .env is fine: the settings may come from the environment.
	_ = godotenv.Load()
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lorabot: bad setting:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if len(os.Args) > 1 && os.Args[1] == "check" {
		if err := app.Check(ctx, cfg, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "lorabot check:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 {
		fmt.Fprintf(os.Stderr, "lorabot: unknown command %q; run lorabot, or lorabot check\n", os.Args[1])
		os.Exit(2)
	}
	if err := app.Run(ctx, cfg, app.DefaultTimings, log, nil); err != nil {
		log.Error("lorabot stopped", "err", err)
		os.Exit(1)
	}
}
