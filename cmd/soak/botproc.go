package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"lorabot/app"
	"lorabot/config"
)

// childEnv carries the bot's settings to the child process; its presence
// is what makes the soak binary run as the bot.
const childEnv = "LORABOT_SOAK_CHILD"

// childSpec is what the child runs: app.Run with these settings.
type childSpec struct {
	Config  config.Config
	Timings app.Timings
}

// sample is one measurement of the bot's process, taken after a GC so
// that the heap is what is live, not what awaits collection.
type sample struct {
	HeapAlloc   uint64 `json:"heap_alloc"`
	HeapObjects uint64 `json:"heap_objects"`
	HeapSys     uint64 `json:"heap_sys"`
	RSS         uint64 `json:"rss"`
	Goroutines  int    `json:"goroutines"`
	// CPU is the user and system time the process used so far.
	CPU time.Duration `json:"cpu"`
}

// measure samples this process: runtime.MemStats after a GC, the resident
// set from /proc/self/statm, the goroutines, and the CPU time used.
func measure() (sample, error) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s := sample{HeapAlloc: m.HeapAlloc, HeapObjects: m.HeapObjects, HeapSys: m.HeapSys, Goroutines: runtime.NumGoroutine()}
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return s, fmt.Errorf("read /proc/self/statm: %w", err)
	}
	f := strings.Fields(string(raw))
	if len(f) < 2 {
		return s, fmt.Errorf("/proc/self/statm: %q has no resident field", raw)
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return s, fmt.Errorf("/proc/self/statm: %w", err)
	}
	s.RSS = pages * uint64(os.Getpagesize())
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return s, fmt.Errorf("getrusage: %w", err)
	}
	s.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return s, nil
}

// botProc is the bot under soak, wherever it runs.
type botProc interface {
	// Measure samples the bot's process.
	Measure() (sample, error)
	// HeapProfile writes a heap profile of the bot's process to path.
	HeapProfile(path string) error
	// CPUProfile starts profiling the bot's CPU into path ("" stops it).
	CPUProfile(path string) error
	// Stop shuts the bot down (app.Run's own shutdown) and waits for it,
	// at most within.
	Stop(within time.Duration) error
	// Exited is closed if the bot stopped by itself.
	Exited() <-chan struct{}
}

// startChild runs the bot as a child process (this binary again, told by
// childEnv), so that its heap, RSS and goroutines are its own and not
// mixed with the fakes', which keep every interaction they served. It
// talks to the child over its stdin and stdout; the bot's log goes to
// logPath.
func startChild(spec childSpec, logPath string) (botProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this program to run the bot: %w", err)
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("bot log: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
	cmd.Stderr = logf
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the bot: %w", err)
	}
	c := &child{cmd: cmd, in: in, lines: make(chan string, 1), exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	go func() {
		c.err = cmd.Wait()
		_ = logf.Close()
		close(c.exited)
	}()
	return c, nil
}

type child struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	lines  chan string
	exited chan struct{}
	err    error // once exited is closed
}

func (c *child) Exited() <-chan struct{} { return c.exited }

// ask sends one request line and waits, at most 30 s, for its answer.
func (c *child) ask(req string) (string, error) {
	if _, err := io.WriteString(c.in, req+"\n"); err != nil {
		return "", fmt.Errorf("ask the bot %q: %w", req, err)
	}
	select {
	case line, ok := <-c.lines:
		if !ok {
			return "", fmt.Errorf("ask the bot %q: it exited", req)
		}
		if msg, bad := strings.CutPrefix(line, "error "); bad {
			return "", fmt.Errorf("the bot, asked %q: %s", req, msg)
		}
		return line, nil
	case <-time.After(30 * time.Second):
		return "", fmt.Errorf("ask the bot %q: no answer within 30 s", req)
	}
}

func (c *child) Measure() (sample, error) {
	line, err := c.ask("measure")
	if err != nil {
		return sample{}, err
	}
	var s sample
	if err := json.Unmarshal([]byte(line), &s); err != nil {
		return s, fmt.Errorf("the bot's measurement %q: %w", line, err)
	}
	return s, nil
}

func (c *child) HeapProfile(path string) error {
	_, err := c.ask("heap " + path)
	return err
}

func (c *child) CPUProfile(path string) error {
	_, err := c.ask(strings.TrimSpace("cpu " + path))
	return err
}

func (c *child) Stop(within time.Duration) error {
	_ = c.in.Close() // the child's signal to shut down
	select {
	case <-c.exited:
		return c.err
	case <-time.After(within):
		_ = c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("the bot did not stop within %v; killed", within)
	}
}

// runChild is the child's side: it runs the bot until its stdin closes,
// answering "measure" and "heap PATH" lines on stdout. It returns the
// process's exit code.
func runChild(rawSpec string) int {
	var spec childSpec
	if err := json.Unmarshal([]byte(rawSpec), &spec); err != nil {
		fmt.Fprintf(os.Stderr, "soak child: %v\n", err)
		return 2
	}
	// Ctrl-C reaches the whole process group; the parent decides when the
	// bot stops (it closes stdin), so that it can measure it first.
	signal.Ignore(os.Interrupt)
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, spec.Config, spec.Timings, log, nil) }()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for {
		select {
		case err := <-done:
			log.Error("soak child: the bot stopped by itself", "err", err)
			return 1
		case line, ok := <-lines:
			if !ok {
				cancel()
				if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
					log.Error("soak child: the bot stopped with an error", "err", err)
					return 1
				}
				return 0
			}
			fmt.Println(answer(line))
		}
	}
}

// answer serves one request line of the parent.
func answer(line string) string {
	switch {
	case line == "measure":
		s, err := measure()
		if err != nil {
			return "error " + err.Error()
		}
		b, _ := json.Marshal(s)
		return string(b)
	case strings.HasPrefix(line, "heap "):
		if err := writeHeapProfile(strings.TrimPrefix(line, "heap ")); err != nil {
			return "error " + err.Error()
		}
		return "ok"
	case line == "cpu" || strings.HasPrefix(line, "cpu "):
		if err := cpuProfile(strings.TrimSpace(strings.TrimPrefix(line, "cpu"))); err != nil {
			return "error " + err.Error()
		}
		return "ok"
	}
	return "error unknown request " + strconv.Quote(line)
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("heap profile: %w", err)
	}
	return f.Close()
}

// cpuFile is the CPU profile being written, if any.
var cpuFile *os.File

// cpuProfile starts a CPU profile into path, or with "" stops the one
// running.
func cpuProfile(path string) error {
	if path == "" {
		if cpuFile == nil {
			return nil
		}
		pprof.StopCPUProfile()
		err := cpuFile.Close()
		cpuFile = nil
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("cpu profile: %w", err)
	}
	cpuFile = f
	return nil
}

// inProcess runs the bot in this process, as the e2e harness does. Its
// figures include the fakes, which keep every interaction and request
// they served, so the heap grows with the traffic whatever the bot does.
type inProcess struct {
	cancel context.CancelFunc
	err    error
	exited chan struct{}
}

func startInProcess(spec childSpec, logPath string) (botProc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("bot log: %w", err)
	}
	log := slog.New(slog.NewTextHandler(logf, nil))
	ctx, cancel := context.WithCancel(context.Background())
	p := &inProcess{cancel: cancel, exited: make(chan struct{})}
	go func() {
		p.err = app.Run(ctx, spec.Config, spec.Timings, log, nil)
		_ = logf.Close()
		close(p.exited)
	}()
	return p, nil
}

func (p *inProcess) Measure() (sample, error)      { return measure() }
func (p *inProcess) HeapProfile(path string) error { return writeHeapProfile(path) }
func (p *inProcess) CPUProfile(path string) error  { return cpuProfile(path) }
func (p *inProcess) Exited() <-chan struct{}       { return p.exited }

func (p *inProcess) Stop(within time.Duration) error {
	p.cancel()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(within):
		return fmt.Errorf("the bot did not stop within %v", within)
	}
}
