package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// SignalContext returns a context cancelled by SIGINT or SIGTERM, with an
// Interrupted cause naming the signal so the exit code can tell them apart
// (130 and 143). Later signals are caught too and only noted on stderr: the
// first one starts the stop of the deployment (BG_ON_INTERRUPT), and a
// second, as GitLab or an impatient user may send, must not abandon it with
// production half way. The stop ends by itself when the job's time is up;
// SIGKILL still ends the process at once.
func SignalContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signalContext(parent, os.Stderr)
}

func signalContext(parent context.Context, w io.Writer) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		defer signal.Stop(sigs)
		select {
		case s := <-sigs:
			cancel(Interrupted{Signal: s})
		case <-done:
			return
		}
		for {
			select {
			case s := <-sigs:
				fmt.Fprintf(w, "%s again: still stopping what this run started, until the stop is done or the job's time is up (SIGKILL abandons it)\n", s)
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return ctx, func() {
		cancel(nil)
		once.Do(func() { close(done) })
	}
}
