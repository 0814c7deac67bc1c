// Command lorabot is a Discord bot that generates images with Stable
// Diffusion and LoRAs through an AUTOMATIC1111 WebUI.
//
//	lorabot          run the bot
//	lorabot check    check the settings, A1111 and Discord, and print the invite link
//	lorabot version  print the version and commit it was built from
//
// Exit codes: 0 stopped when asked; 1 stopped on an error; 2 a setting is
// wrong; 3 Discord refused DISCORD_TOKEN (no restart helps until it is
// replaced: docs/systemd/lorabot.service does not restart on 2 or 3).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/joho/godotenv"

	"lorabot/app"
	"lorabot/bot"
	"lorabot/config"
)

const usage = `lorabot: a Discord bot that makes images with Stable Diffusion LoRAs through AUTOMATIC1111.

  lorabot          run the bot
  lorabot check    check the settings, A1111 and Discord, and print the invite link
  lorabot version  print the version and commit it was built from

Settings come from the environment and from .env in the working directory
(the environment wins); .env.example lists them.
`

func main() {
	cmd := ""
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	switch {
	case cmd == "help" || cmd == "-h" || cmd == "-help" || cmd == "--help":
		fmt.Print(usage)
		return
	case cmd == "version" && len(os.Args) == 2:
		fmt.Println(versionLine())
		return
	case cmd != "" && cmd != "check", len(os.Args) > 2:
		fmt.Fprintf(os.Stderr, "lorabot: unknown command %q; run lorabot, lorabot check or lorabot version\n", strings.Join(os.Args[1:], " "))
		os.Exit(exitBadSetting)
	}

	// A missing .env is fine: the settings may come from the environment.
	// godotenv's parse errors quote the file, token included: never print them.
	if err := godotenv.Load(); err != nil && !errors.Is(err, fs.ErrNotExist) {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			fmt.Fprintf(os.Stderr, "lorabot: bad setting: .env cannot be read: %v\n", pe.Err)
		} else {
			fmt.Fprintln(os.Stderr, "lorabot: bad setting: .env: a line cannot be read (an unclosed quote, or a space or symbol in a name); nothing from .env was loaded")
		}
		os.Exit(exitBadSetting)
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lorabot: bad setting:", err)
		os.Exit(exitBadSetting)
	}
	log := newLogger(cfg, os.Stderr)
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go exitOnSecondSignal(ctx, log)

	if cmd == "check" {
		if err := app.Check(ctx, cfg, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "lorabot check:", err)
			os.Exit(1)
		}
		return
	}
	log.Info("starting lorabot", "version", versionLine())
	if err := app.Run(ctx, cfg, app.DefaultTimings, log, nil); err != nil {
		log.Error("lorabot stopped", "err", err)
		if errors.Is(err, bot.ErrTokenRefused) {
			os.Exit(exitTokenRefused)
		}
		os.Exit(1)
	}
}

// exitOnSecondSignal ends the process at once on a second SIGINT or
// SIGTERM after the first began the shutdown: an operator who presses
// Ctrl-C again does not want to wait. Jobs keep their records, so the next
// start runs them; bbolt's file survives an exit without Close.
func exitOnSecondSignal(first context.Context, log *slog.Logger) {
	<-first.Done()
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	log.Info("stopping; send the signal again to exit at once")
	sig := <-again
	log.Warn("second signal: exiting now; unfinished jobs run at the next start", "signal", sig.String())
	os.Exit(1)
}

// Exit codes other than 0 and 1, for service managers (see the doc above).
const (
	exitBadSetting   = 2
	exitTokenRefused = 3
)

// newLogger is slog as LOG_FORMAT and LOG_LEVEL ask, writing to w.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
