package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/fleet"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/report"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// envServicesFile makes status and verify a many-services run.
const envServicesFile = "BG_SERVICES_FILE"

// forFleet is cmd as a many-services run when it is status or verify and
// BG_SERVICES_FILE is set: the run itself reads only the output, log and
// status settings, and each service's run reads the rest, from the job's
// settings with the service's entry on top.
func forFleet(cmd *command, environ []string) *command {
	if cmd.name != "status" && cmd.name != "verify" {
		return cmd
	}
	if v, _ := envValue(environ, envServicesFile); v == "" {
		return cmd
	}
	return &command{name: cmd.name, summary: cmd.summary, families: []string{"output", "log", "status"}, run: runFleet(cmd)}
}

// envValue is the last value of name in environ ("" counts as unset).
func envValue(environ []string, name string) (string, bool) {
	v := ""
	for _, kv := range environ {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	return v, v != ""
}

// fleetError is a many-services run where some services failed.
type fleetError struct {
	code   int
	failed []string
	total  int
}

func (e *fleetError) Error() string {
	return fmt.Sprintf("%d of %d services failed: %s", len(e.failed), e.total, strings.Join(e.failed, ", "))
}
func (e *fleetError) ExitCode() int { return e.code }
func (e *fleetError) ErrorHint() string {
	return "each service's log is in its own section above, and its reports under BG_OUTPUT_DIR/services/<name>"
}

// serviceRun is one service's outcome and its log.
type serviceRun struct {
	status report.ServiceStatus
	log    []byte
}

// runFleet runs inner (status or verify) for every service of the services
// file, BG_SERVICES_CONCURRENCY at once, then writes one page with a row
// per service (status.json, status.md, status.html) and, for verify, one
// junit.xml with a suite per service. A service that fails is reported in
// its row and suite; the others are still read.
func runFleet(inner *command) func(context.Context, *invocation) error {
	return func(ctx context.Context, inv *invocation) error {
		st := inv.settings.Status
		data, err := os.ReadFile(st.ServicesFile)
		if err != nil {
			return &usageError{msg: "reading BG_SERVICES_FILE: " + err.Error(), err: err}
		}
		entries, err := fleet.Parse(data)
		if err != nil {
			return &usageError{msg: err.Error(), hint: "fix BG_SERVICES_FILE; nothing was read"}
		}
		if err := refuseSecrets(entries); err != nil {
			return err
		}
		dir := inv.settings.Output.Dir
		taken := inv.clock().Now()
		runs := fleet.Run(ctx, entries, st.Concurrency, func(ctx context.Context, e fleet.Entry) serviceRun {
			return runService(ctx, inv, inner, e, dir)
		}, func(e fleet.Entry, err error) serviceRun {
			return serviceRun{status: report.ServiceStatus{Name: e.Name, Error: "not read: " + err.Error(), ExitCode: ExitInterrupted}}
		})

		ci, _ := gitlab.ReadContext(inv.getenv)
		sections := gitlab.Sections{W: inv.env.Stderr, InCI: ci.InCI}
		services := make([]report.ServiceStatus, 0, len(runs))
		fe := &fleetError{total: len(runs)}
		for i, r := range runs {
			services = append(services, r.status)
			outcome := "ok"
			if r.status.ExitCode != ExitOK {
				outcome = fmt.Sprintf("exit %d", r.status.ExitCode)
				fe.failed = append(fe.failed, r.status.Name)
				fe.code = worseExit(fe.code, r.status.ExitCode)
			}
			end := sections.Start(fmt.Sprintf("ecs_bluegreen_service_%d", i+1), "Service "+r.status.Name+": "+outcome, r.status.ExitCode == ExitOK)
			_, _ = inv.env.Stderr.Write(r.log)
			end()
		}
		if err := writeFleet(dir, inner.name, taken, services); err != nil {
			return err
		}
		if _, err := fmt.Fprint(inv.env.Stdout, report.FleetMarkdown(taken, services)); err != nil {
			return err
		}
		if len(fe.failed) > 0 {
			return fe
		}
		return nil
	}
}

// worseExit is the exit code a run with both outcomes ends with: a signal,
// then bad input, a timeout, a failure, and a verify finding last (a
// service that could not be read says more than another's finding).
func worseExit(a, b int) int {
	rank := func(c int) int {
		switch c {
		case ExitOK:
			return 0
		case ExitVerify:
			return 1
		case ExitFailed:
			return 2
		case ExitTimeout:
			return 3
		case ExitUsage:
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

// runService runs inner for one service, its reports under
// <dir>/services/<name>, its log kept for the section.
func runService(ctx context.Context, inv *invocation, inner *command, e fleet.Entry, dir string) serviceRun {
	out := filepath.Join(dir, "services", e.Name)
	ss := report.ServiceStatus{Name: e.Name}
	// A report left from an earlier run must not stand for this one.
	for _, f := range []string{"status.json", "status.md", "status.html", "junit.xml"} {
		_ = os.Remove(filepath.Join(out, f))
	}
	environ := slices.Clone(inv.env.Environ)
	keys := make([]string, 0, len(e.Env))
	for k := range e.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		environ = append(environ, k+"="+e.Env[k])
	}
	environ = append(environ, envServicesFile+"=", "BG_OUTPUT_DIR="+out)
	log := &lockedBuffer{}
	err := runCommand(ctx, inner, nil, Env{Environ: environ, Stdout: log, Stderr: log, Clock: inv.env.Clock})
	ss.ExitCode = exitCode(log, err)
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

// writeFleet writes the overview: status.json, status.md, status.html and,
// for verify, junit.xml with one suite per service (a service that could
// not be read is one failed case saying why).
func writeFleet(dir, cmd string, taken time.Time, services []report.ServiceStatus) error {
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
			if len(cases) == 0 && s.ExitCode != ExitOK {
				cases = []report.Case{{Name: "service can be read", Message: orString(s.Error, "exit "+fmt.Sprint(s.ExitCode))}}
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

// refuseSecrets refuses a services file that sets a secret setting (an ID
// token, a registry password): a file in the repository is no place for
// one, and its value would not be masked in the log.
func refuseSecrets(entries []fleet.Entry) error {
	secret := map[string]bool{}
	for _, st := range config.Reference() {
		if st.Secret {
			secret[st.Var] = true
		}
	}
	var bad []string
	for _, e := range entries {
		for k := range e.Env {
			if secret[k] || strings.HasPrefix(k, "AWS_SECRET") || k == "AWS_SESSION_TOKEN" {
				bad = append(bad, e.Name+": "+k)
			}
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	return &usageError{
		msg:  "the services file sets secrets (" + strings.Join(bad, ", ") + ")",
		hint: "give secrets as masked CI/CD variables of the job; the services file names services and their plain settings",
	}
}
