package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/report"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// FileVar is the setting that makes status and verify a many-services run.
const FileVar = "BG_SERVICES_FILE"

// The exit codes of DESIGN §3 a service's run may end with.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitTimeout     = 3
	exitVerify      = 4
	exitInterrupted = 130
)

// InputError is a services file that cannot be used: exit 2, nothing read.
type InputError struct {
	msg, hint string
	err       error
}

func (e *InputError) Error() string { return e.msg }
func (e *InputError) Unwrap() error { return e.err }

// ExitCode is 2: bad input.
func (e *InputError) ExitCode() int { return exitUsage }

// ErrorHint says what to fix.
func (e *InputError) ErrorHint() string { return e.hint }

// Load reads and parses the services file at path and refuses one that
// sets a secret setting (secret names them): a file in the repository is
// no place for one, and its value would not be masked in the log.
func Load(path string, secret []string) ([]Entry, error) {
	data, err := readLimited(path, maxFileSize)
	if err != nil {
		return nil, &InputError{msg: "reading " + FileVar + ": " + err.Error(), err: err}
	}
	entries, err := Parse(data)
	if err != nil {
		return nil, &InputError{msg: err.Error(), hint: "fix " + FileVar + "; nothing was read"}
	}
	var bad []string
	for _, e := range entries {
		for k := range e.Env {
			if slices.Contains(secret, k) || strings.HasPrefix(k, "AWS_SECRET") || k == "AWS_SESSION_TOKEN" {
				bad = append(bad, e.Name+": "+k)
			}
		}
	}
	if len(bad) == 0 {
		return entries, nil
	}
	slices.Sort(bad)
	return nil, &InputError{
		msg:  "the services file sets secrets (" + strings.Join(bad, ", ") + ")",
		hint: "give secrets as masked CI/CD variables of the job; the services file names services and their plain settings",
	}
}

// Error is a many-services run where some services failed; its exit code
// is the worst of theirs.
type Error struct {
	code   int
	failed []string
	total  int
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d of %d services failed: %s", len(e.failed), e.total, strings.Join(e.failed, ", "))
}

// ExitCode is the worst of the failed services' exit codes.
func (e *Error) ExitCode() int { return e.code }

// ErrorHint says where each service's log and reports are.
func (e *Error) ErrorHint() string {
	return "each service's log is in its own section above, and its reports under BG_OUTPUT_DIR/services/<name>"
}

// Service runs the command for one service with environ (the job's
// settings with the service's on top and BG_OUTPUT_DIR its own folder),
// writing its output and log to log, and returns the exit code it ends
// with and its error.
type Service func(ctx context.Context, environ []string, log io.Writer) (int, error)

// Options are what a many-services run needs besides its services.
type Options struct {
	Command string    // status or verify (verify also writes junit.xml)
	Dir     string    // the run's output folder; each service writes under services/<name>
	Limit   int       // services run at once
	Environ []string  // the job's settings, under each service's own
	Taken   time.Time // the overview's time
	Log     io.Writer // each service's log, in a section of its own
	InCI    bool      // sections are GitLab's collapsible ones
	Stdout  io.Writer // the overview as Markdown
}

// serviceRun is one service's outcome and its log.
type serviceRun struct {
	status report.ServiceStatus
	log    []byte
}

// Over runs service for every entry, opts.Limit at once, then writes one
// page with a row per service (status.json, status.md, status.html) and,
// for verify, one junit.xml with a suite per service. A service that
// fails is reported in its row and suite; the others are still read. The
// error is an *Error when some service failed.
func Over(ctx context.Context, entries []Entry, opts Options, service Service) error {
	runs := Run(ctx, entries, opts.Limit, func(ctx context.Context, e Entry) serviceRun {
		return runOne(ctx, opts, e, service)
	}, func(e Entry, err error) serviceRun {
		return serviceRun{status: report.ServiceStatus{Name: e.Name, Error: "not read: " + err.Error(), ExitCode: exitInterrupted}}
	})

	sections := gitlab.Sections{W: opts.Log, InCI: opts.InCI}
	services := make([]report.ServiceStatus, 0, len(runs))
	fe := &Error{total: len(runs)}
	for i, r := range runs {
		services = append(services, r.status)
		outcome := "ok"
		if r.status.ExitCode != exitOK {
			outcome = fmt.Sprintf("exit %d", r.status.ExitCode)
			fe.failed = append(fe.failed, r.status.Name)
			fe.code = worseExit(fe.code, r.status.ExitCode)
		}
		end := sections.Start(fmt.Sprintf("ecs_bluegreen_service_%d", i+1), "Service "+r.status.Name+": "+outcome, r.status.ExitCode == exitOK)
		_, _ = opts.Log.Write(r.log)
		end()
	}
	if err := writeOverview(opts.Dir, opts.Command, opts.Taken, services); err != nil {
		return err
	}
	if _, err := fmt.Fprint(opts.Stdout, report.FleetMarkdown(opts.Taken, services)); err != nil {
		return err
	}
	if len(fe.failed) > 0 {
		return fe
	}
	return nil
}

// worseExit is the exit code a run with both outcomes ends with: a signal,
// then bad input, a timeout, a failure, and a verify finding last (a
// service that could not be read says more than another's finding).
func worseExit(a, b int) int {
	rank := func(c int) int {
		switch c {
		case exitOK:
			return 0
		case exitVerify:
			return 1
		case exitFailed:
			return 2
		case exitTimeout:
			return 3
		case exitUsage:
			return 4
		default:
			return 5 // 130, 143
		}
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// Environ is the settings of e's run: the job's, then e's own in name
// order, then no services file and e's own output folder out.
func Environ(job []string, e Entry, out string) []string {
	environ := slices.Clone(job)
	keys := make([]string, 0, len(e.Env))
	for k := range e.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		environ = append(environ, k+"="+e.Env[k])
	}
	return append(environ, FileVar+"=", "BG_OUTPUT_DIR="+out)
}

// runOne runs service for e, its reports under <dir>/services/<name>, its
// log kept for the section, and reads back the reports it wrote.
func runOne(ctx context.Context, opts Options, e Entry, service Service) serviceRun {
	out := filepath.Join(opts.Dir, "services", e.Name)
	ss := report.ServiceStatus{Name: e.Name}
	// A report left from an earlier run must not stand for this one.
	for _, f := range []string{"status.json", "status.md", "status.html", "junit.xml"} {
		_ = os.Remove(filepath.Join(out, f))
	}
	log := &lockedBuffer{}
	code, err := service(ctx, Environ(opts.Environ, e, out), log)
	ss.ExitCode = code
	if err != nil {
		ss.Error = err.Error()
	}
	if raw, rerr := os.ReadFile(filepath.Join(out, "status.json")); rerr == nil {
		var s snapshot.Snapshot
		if jerr := json.Unmarshal(raw, &s); jerr == nil {
			ss.Status = &s
			ss.Detail = "services/" + e.Name + "/status.html"
		}
	}
	if raw, rerr := os.ReadFile(filepath.Join(out, "junit.xml")); rerr == nil {
		if cases, jerr := report.ReadJUnit(raw); jerr == nil {
			ss.Cases = cases
		}
	}
	return serviceRun{status: ss, log: log.Bytes()}
}

// lockedBuffer is one service's log, its output and its log lines in the
// order written, safe for the writers a command may run at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes is what was written.
func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// writeOverview writes status.json, status.md, status.html and, for
// verify, junit.xml with one suite per service (a service that could not
// be read is one failed case saying why).
func writeOverview(dir, cmd string, taken time.Time, services []report.ServiceStatus) error {
	js, err := report.FleetJSON(taken, services)
	if err != nil {
		return err
	}
	page, err := report.FleetHTML(taken, services)
	if err != nil {
		return err
	}
	files := map[string][]byte{"status.json": js, "status.md": []byte(report.FleetMarkdown(taken, services)), "status.html": page}
	if cmd == "verify" {
		suites := make([]report.Suite, 0, len(services))
		for _, s := range services {
			cases := s.Cases
			if len(cases) == 0 && s.ExitCode != exitOK {
				msg := s.Error
				if msg == "" {
					msg = "exit " + fmt.Sprint(s.ExitCode)
				}
				cases = []report.Case{{Name: "service can be read", Message: msg}}
			}
			suites = append(suites, report.Suite{Name: s.Name, At: taken, Cases: cases})
		}
		junit, err := report.JUnitSuites(suites)
		if err != nil {
			return err
		}
		files["junit.xml"] = junit
	}
	for name, data := range files {
		if err := report.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// maxFileSize bounds the services file: 200 services with their settings
// fit in a small fraction of it, and a larger file is a mistake.
const maxFileSize = 1 << 20

// readLimited reads path, refusing a file larger than limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}
