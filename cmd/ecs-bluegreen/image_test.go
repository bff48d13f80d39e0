package main

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"debug/elf"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/testutil"
)

// No Docker engine runs where the tests run, so the image contract (DESIGN
// §4) is proved by assembling the Dockerfile's runtime stage with our own
// `ecs-bluegreen build` and running a GitLab job in its filesystem:
//
//   - the binary is built with the Dockerfile's own `go build` line (its
//     flags, ldflags and build arguments, read from the file);
//   - the base image stands in for the Dockerfile's busybox base: Debian's
//     busybox-static as /bin/busybox with /bin/sh and its other applets
//     linked to it, /tmp, and /etc/passwd and /etc/group naming the
//     Dockerfile's USER;
//   - the runtime stage's instructions are used as written, except that FROM
//     names that base and COPY --from=build takes the build stage's files
//     from a build context;
//   - `ecs-bluegreen build` (the binary just built) pushes the image to a
//     loopback registry; the test pulls it, checks its config and extracts
//     its filesystem;
//   - the job starts as GitLab Runner's Docker executor starts one (`sh -c`
//     finding a shell, the job script on standard input), chrooted into the
//     filesystem as the image's user.

const (
	imgVersion = "0.0.0-imagetest"
	imgCommit  = "0123456789abcdef0123456789abcdef01234567"
	imgCreated = "2026-11-24T10:00:00Z"
	projectURL = "https://gitlab.com/ecs-bluegreen/ecs-bluegreen"

	// busyboxPath is where Debian's busybox-static installs busybox.
	busyboxPath = "/bin/busybox"
	// certsPath is the CA bundle of Debian's ca-certificates, the file the
	// Dockerfile copies from its (Debian) build stage.
	certsPath = "/etc/ssl/certs/ca-certificates.crt"
	// basePath is the image PATH of the busybox base image.
	basePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// projectDir is where GitLab Runner's Docker executor checks out the
	// project: a volume the runner creates with umask 0000.
	projectDir = "/builds/ecs-bluegreen/app"
)

// detectShell starts a job as GitLab Runner's Docker executor does: the
// container runs `sh -c` with a script that execs the first shell it finds
// (bash first, then sh), and the job script arrives on standard input.
const detectShell = `for s in /usr/local/bin/bash /usr/bin/bash /bin/bash /usr/local/bin/sh /usr/bin/sh /bin/sh /busybox/sh; do
	if [ -x "$s" ]; then exec "$s"; fi
done
echo shell not found
exit 1
`

// jobScript is what a job of the component runs in the image, as the shell
// receives it: several lines, a loop, a redirection, a command substitution,
// and the tool writing its outputs into the project folder.
const jobScript = `set -eu
cd "$CI_PROJECT_DIR"
echo '$ ecs-bluegreen version'
ecs-bluegreen version
echo "user: $(id -u):$(id -g) $(id -un) home=$HOME"
test "$(id -u)" = "$WANT_UID"
test -s /etc/ssl/certs/ca-certificates.crt
certs=$(grep -c 'BEGIN CERTIFICATE' /etc/ssl/certs/ca-certificates.crt)
test "$certs" -gt 100
echo "certificates: $certs"
printf 'FROM scratch\nCOPY hello.txt /\n' > Dockerfile
for word in hello from the job; do
	printf '%s ' "$word"
done > hello.txt
echo '$ ecs-bluegreen build'
ecs-bluegreen build
image=$(grep '^BG_IMAGE=' .ecs-bluegreen/deploy.env)
echo "dotenv: $image"
if touch /usr/local/bin/written-by-the-job 2>&1; then
	echo "a job could write to /usr/local/bin"
	exit 1
fi
echo "job succeeded"
`

// TestImageRuntime builds the image as described at the top of this file and
// runs a job in it: `ecs-bluegreen version` and `build` work, /bin/sh runs a
// multi-line script, the job runs as the Dockerfile's non-root user, the CA
// certificates are there, and the config has no ENTRYPOINT and has the OCI
// labels and the user.
func TestImageRuntime(t *testing.T) {
	t.Parallel()
	rt := assembleRuntime(t)

	cfg := rt.config.Config
	if len(cfg.Entrypoint) > 0 {
		t.Errorf("the image has ENTRYPOINT %q, which would swallow the job script", cfg.Entrypoint)
	}
	if rt.uid == 0 {
		t.Errorf("the Dockerfile's USER %s is root", rt.user)
	}
	if cfg.User != rt.user {
		t.Errorf("the image runs as %q, want the Dockerfile's USER %q", cfg.User, rt.user)
	}
	wantLabels := map[string]string{
		"org.opencontainers.image.source":   projectURL,
		"org.opencontainers.image.version":  imgVersion,
		"org.opencontainers.image.revision": imgCommit,
		"org.opencontainers.image.created":  imgCreated,
	}
	for _, k := range rt.labels {
		if _, ok := wantLabels[k]; !ok {
			wantLabels[k] = "" // any value, but there
		}
	}
	for k, want := range wantLabels {
		got, ok := cfg.Labels[k]
		switch {
		case !ok || got == "":
			t.Errorf("the image lacks the label %s (labels: %v)", k, cfg.Labels)
		case want != "" && got != want:
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if len(cfg.Cmd) == 0 || cfg.Cmd[0] != "ecs-bluegreen" {
		t.Errorf("the image's CMD is %q, want the Dockerfile's ecs-bluegreen command", cfg.Cmd)
	}

	certs, err := os.ReadFile(filepath.Join(rt.root, certsPath))
	if err != nil {
		t.Fatalf("the image has no CA certificates: %v", err)
	}
	if n := countCertificates(certs); n < 100 {
		t.Errorf("%s holds %d certificates Go can parse, want the Debian bundle (over 100)", certsPath, n)
	}

	env := append(slices.Clone(cfg.Env),
		"HOME=/home/nonroot",
		"CI=true", "GITLAB_CI=true",
		"CI_PROJECT_DIR="+projectDir,
		"CI_PROJECT_URL=https://gitlab.example.com/ecs-bluegreen/app",
		"CI_REGISTRY="+rt.registry,
		"CI_REGISTRY_IMAGE="+rt.registry+"/ecs-bluegreen/app",
		"CI_COMMIT_SHA="+imgCommit,
		"CI_COMMIT_TIMESTAMP="+imgCreated,
		"WANT_UID="+strconv.Itoa(rt.uid),
	)
	// The runner keeps the image's ENTRYPOINT and makes its command the
	// argument list: an ENTRYPOINT would be handed the job.
	cmd, err := rt.command(t, env, append(slices.Clone(cfg.Entrypoint), "sh", "-c", detectShell)...)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = strings.NewReader(jobScript)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	t.Logf("job in the image (%s):\n%s", time.Since(start).Round(time.Millisecond), out.String())
	if err != nil {
		t.Fatalf("the job failed: %v", err)
	}
	for _, want := range []string{
		fmt.Sprintf("ecs-bluegreen %s (commit %s,", imgVersion, imgCommit),
		fmt.Sprintf("user: %d:%d nonroot home=/home/nonroot", rt.uid, rt.gid),
		"dotenv: BG_IMAGE=" + rt.registry + "/ecs-bluegreen/app@sha256:",
		"job succeeded",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the job's log lacks %q", want)
		}
	}
}

// BenchmarkImageRuntime prints the figures of DESIGN §8 for the runtime image
// assembled as TestImageRuntime does: its compressed and uncompressed size,
// and the start-up of `ecs-bluegreen version` as a new process each time,
// outside and inside the image (chrooted, as its user), next to busybox's
// `true` started the same way. Run it with
//
//	go test -run '^$' -bench '^BenchmarkImageRuntime$' -benchtime 51x -v ./cmd/ecs-bluegreen
func BenchmarkImageRuntime(b *testing.B) {
	rt := assembleRuntime(b)
	layers, err := layerSizes(rt.img)
	if err != nil {
		b.Fatal(err)
	}
	var compressed, uncompressed int64
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "layer\tcompressed\tuncompressed\t")
	for _, l := range layers {
		compressed += l.compressed
		uncompressed += l.uncompressed
		fmt.Fprintf(tw, "%s\t%d\t%d\t\n", l.what, l.compressed, l.uncompressed)
	}
	fmt.Fprintf(tw, "image (layers)\t%d\t%d\t\n", compressed, uncompressed)
	for _, f := range []string{"/usr/local/bin/ecs-bluegreen", busyboxPath, certsPath} {
		if fi, err := os.Stat(filepath.Join(rt.root, f)); err == nil {
			fmt.Fprintf(tw, "file %s\t\t%d\t\n", f, fi.Size())
		}
	}
	_ = tw.Flush()
	b.Logf("runtime image %s, bytes:\n%s", rt.ref.DigestStr(), table.String())

	b.Run("Size", func(b *testing.B) {
		for range b.N {
		}
		b.ReportMetric(float64(compressed)/1e6, "MB-compressed")
		b.ReportMetric(float64(uncompressed)/1e6, "MB-uncompressed")
	})
	start := func(b *testing.B, want string, cmd func() (*exec.Cmd, error)) {
		b.Helper()
		times := make([]time.Duration, 0, b.N)
		for range b.N {
			c, err := cmd()
			if err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			out, err := c.CombinedOutput()
			times = append(times, time.Since(t0))
			if err != nil || !bytes.Contains(out, []byte(want)) {
				b.Fatalf("%s: %v\n%s", c.Args, err, out)
			}
		}
		slices.Sort(times)
		b.ReportMetric(ms(times[len(times)/2]), "ms-median")
		b.ReportMetric(ms(times[0]), "ms-min")
		b.ReportMetric(ms(times[len(times)-1]), "ms-max")
	}
	b.Run("StartOutside", func(b *testing.B) {
		start(b, imgVersion, func() (*exec.Cmd, error) {
			c := exec.Command(rt.binary, "version")
			c.Env = []string{"PATH=" + basePath}
			return c, nil
		})
	})
	b.Run("StartChroot", func(b *testing.B) {
		start(b, imgVersion, func() (*exec.Cmd, error) {
			return rt.command(b, slices.Clone(rt.config.Config.Env), "ecs-bluegreen", "version")
		})
	})
	// The floor: starting a process that does nothing (busybox true) in
	// the same way.
	b.Run("StartChrootTrue", func(b *testing.B) {
		start(b, "", func() (*exec.Cmd, error) {
			return rt.command(b, slices.Clone(rt.config.Config.Env), "true")
		})
	})
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// runtimeImage is the runtime image built and extracted by assembleRuntime.
type runtimeImage struct {
	// root is the image's filesystem, extracted.
	root string
	// ref is the image in the loopback registry, as build printed it.
	ref    name.Digest
	img    v1.Image
	config *v1.ConfigFile
	// binary is the binary as the Dockerfile's build stage builds it.
	binary string
	// registry is the loopback registry's host:port.
	registry string
	// user is the Dockerfile's USER; uid and gid its numbers.
	user     string
	uid, gid int
	// labels are the label keys the Dockerfile's runtime stage sets.
	labels []string
}

// command prepares argv to run in the image's filesystem as its user, in its
// working directory, with env; argv[0] is found on the image's PATH.
func (rt *runtimeImage) command(tb testing.TB, env []string, argv ...string) (*exec.Cmd, error) {
	tb.Helper()
	pathEnv := basePath
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			pathEnv = v
		}
	}
	prog := ""
	for _, dir := range filepath.SplitList(pathEnv) {
		p := path.Join("/", dir, argv[0])
		if fi, err := os.Lstat(filepath.Join(rt.root, p)); err == nil && !fi.IsDir() {
			prog = p
			break
		}
	}
	if prog == "" {
		return nil, fmt.Errorf("%s is not on the image's PATH (%s)", argv[0], pathEnv)
	}
	// An absolute path is not looked up on the host; exec resolves it after
	// the chroot.
	cmd := exec.CommandContext(tb.Context(), prog)
	cmd.Args = argv
	cmd.Env = env
	cmd.Dir = rt.config.Config.WorkingDir
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot:     rt.root,
		Credential: &syscall.Credential{Uid: uint32(rt.uid), Gid: uint32(rt.gid), Groups: []uint32{}},
	}
	return cmd, nil
}

// assembleRuntime builds the runtime image and extracts it; it skips (or
// fails under BG_REQUIRE_PEERS=1) when the machine cannot run it.
func assembleRuntime(tb testing.TB) *runtimeImage {
	tb.Helper()
	if os.Geteuid() != 0 {
		testutil.MissingPeer(tb, fmt.Sprintf("the tests run as uid %d, and chrooting into the image needs root", os.Geteuid()))
	}
	requireStaticBusybox(tb)

	stages := dockerfileStages(tb)
	final := stages[len(stages)-1]
	rt := &runtimeImage{}
	for _, n := range final {
		switch strings.ToLower(n.Value) {
		case "user":
			rt.user = n.Next.Value
		case "label":
			// BuildKit gives key, value, separator triples.
			for a, i := n.Next, 0; a != nil; a, i = a.Next, i+1 {
				if i%3 == 0 {
					rt.labels = append(rt.labels, a.Value)
				}
			}
		}
	}
	if rt.user == "" {
		tb.Fatal("the Dockerfile's runtime stage sets no USER, so a job would run as root")
	}
	var err error
	if rt.uid, rt.gid, err = numericUser(rt.user); err != nil {
		tb.Fatal(err)
	}

	buildArgs := map[string]string{"VERSION": imgVersion, "COMMIT": imgCommit, "CREATED": imgCreated}
	ctxDir := tb.TempDir()
	rt.binary = filepath.Join(ctxDir, "ecs-bluegreen")
	out := goBuild(tb, stages, buildArgs, rt.binary)
	certs, err := os.ReadFile(certsPath)
	if err != nil {
		testutil.MissingPeer(tb, "the CA certificates (Debian's ca-certificates) are not installed")
	}
	if err := os.WriteFile(filepath.Join(ctxDir, "ca-certificates.crt"), certs, 0o644); err != nil {
		tb.Fatal(err)
	}

	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	tb.Cleanup(srv.Close)
	rt.registry = strings.TrimPrefix(srv.URL, "http://")
	base := pushBase(tb, rt.registry, rt.uid, rt.gid)

	dockerfile, err := runtimeDockerfile(final, base, map[string]string{out: "ecs-bluegreen", certsPath: "ca-certificates.crt"})
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		tb.Fatal(err)
	}
	var args []string
	for k, v := range buildArgs {
		args = append(args, k+"="+v)
	}
	sort.Strings(args)
	build := exec.CommandContext(tb.Context(), rt.binary, "build")
	build.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + tb.TempDir(),
		"BG_REGISTRY_IMAGE=" + rt.registry + "/ecs-bluegreen/ecs-bluegreen",
		"BG_BUILD_CONTEXT=" + ctxDir,
		"BG_BUILD_ARGS=" + strings.Join(args, ","),
		"BG_OUTPUT_DIR=" + tb.TempDir(),
		"CI_PROJECT_URL=" + projectURL,
		"CI_COMMIT_SHA=" + imgCommit,
		"CI_COMMIT_TAG=" + imgVersion,
		"CI_COMMIT_TIMESTAMP=" + imgCreated,
	}
	var stdout, stderr bytes.Buffer
	build.Stdout, build.Stderr = &stdout, &stderr
	if err := build.Run(); err != nil {
		tb.Fatalf("ecs-bluegreen build: %v\n%s\nDockerfile:\n%s", err, stderr.String(), dockerfile)
	}
	if rt.ref, err = name.NewDigest(strings.TrimSpace(stdout.String())); err != nil {
		tb.Fatalf("ecs-bluegreen build printed %q, not a pinned reference: %v", stdout.String(), err)
	}
	if rt.img, err = remote.Image(rt.ref, remote.WithContext(tb.Context())); err != nil {
		tb.Fatal(err)
	}
	if rt.config, err = rt.img.ConfigFile(); err != nil {
		tb.Fatal(err)
	}

	rt.root = tb.TempDir()
	rc := mutate.Extract(rt.img)
	defer rc.Close()
	if err := untar(rc, rt.root); err != nil {
		tb.Fatalf("extracting the image: %v", err)
	}
	// The runner's build volume, made with umask 0000 so that a non-root
	// job can write in the checkout.
	if err := os.MkdirAll(filepath.Join(rt.root, projectDir), 0o777); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(rt.root, projectDir), 0o777); err != nil {
		tb.Fatal(err)
	}
	// The image's / as a runtime mounts it (a temporary folder is 0700).
	if err := os.Chmod(rt.root, 0o755); err != nil {
		tb.Fatal(err)
	}
	return rt
}

// requireStaticBusybox checks that /bin/busybox is Debian's busybox-static:
// the dynamically linked busybox package would not run in an image without
// a C library.
func requireStaticBusybox(tb testing.TB) {
	tb.Helper()
	f, err := elf.Open(busyboxPath)
	if err != nil {
		testutil.MissingPeer(tb, "busybox-static is not installed (no "+busyboxPath+")")
		return
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			testutil.MissingPeer(tb, busyboxPath+" is dynamically linked (Debian's busybox); install busybox-static")
		}
	}
}

// dockerfileStages reads the repository's Dockerfile, one slice of
// instructions per stage.
func dockerfileStages(tb testing.TB) [][]*parser.Node {
	tb.Helper()
	f, err := os.Open("../../Dockerfile")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		tb.Fatalf("parsing the Dockerfile: %v", err)
	}
	var stages [][]*parser.Node
	for _, n := range res.AST.Children {
		if strings.EqualFold(n.Value, "from") {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], n)
		}
	}
	if len(stages) < 2 {
		tb.Fatalf("the Dockerfile has %d stages, want a build stage and a runtime stage", len(stages))
	}
	return stages
}

// goBuild runs the Dockerfile's `go build` line from the repository root
// (the build stage's /src) with the build arguments, writing the binary to
// dst; it returns the path the Dockerfile writes it to.
func goBuild(tb testing.TB, stages [][]*parser.Node, args map[string]string, dst string) string {
	tb.Helper()
	vars := lexEnv{}
	var line *parser.Node
	for _, st := range stages[:len(stages)-1] {
		for _, n := range st {
			switch strings.ToLower(n.Value) {
			case "arg":
				for a := n.Next; a != nil; a = a.Next {
					k, v, _ := strings.Cut(a.Value, "=")
					vars[k] = v
				}
			case "run":
				if strings.Contains(n.Original, "go build") {
					line = n
				}
			}
		}
	}
	if line == nil || line.Attributes["json"] {
		tb.Fatal("the Dockerfile has no shell-form RUN line with go build")
	}
	for k, v := range args {
		vars[k] = v
	}
	words, err := shell.NewLex('\\').ProcessWords(line.Next.Value, vars)
	if err != nil {
		tb.Fatalf("reading %s: %v", line.Original, err)
	}
	env := os.Environ()
	for len(words) > 0 && strings.Contains(words[0], "=") {
		env = append(env, words[0])
		words = words[1:]
	}
	if len(words) < 2 || words[0] != "go" || words[1] != "build" {
		tb.Fatalf("the build line %q does not start with go build", line.Original)
	}
	out := ""
	for i, w := range words {
		if w == "-o" && i+1 < len(words) {
			out, words[i+1] = words[i+1], dst
		}
	}
	if out == "" {
		tb.Fatalf("the build line %q has no -o", line.Original)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		tb.Fatal(err)
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.CommandContext(tb.Context(), goCmd, words[1:]...)
	cmd.Dir, cmd.Env = repo, env
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("%s: %v\n%s", strings.Join(words, " "), err, b)
	}
	return out
}

// lexEnv gives BuildKit's word expansion the build arguments.
type lexEnv map[string]string

func (e lexEnv) Get(k string) (string, bool) { v, ok := e[k]; return v, ok }

func (e lexEnv) Keys() []string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	return keys
}

// runtimeDockerfile writes the runtime stage for our build: FROM names base,
// COPY --from takes the build stage's files (sources names them) from the
// build context, and every other instruction is as the Dockerfile has it.
func runtimeDockerfile(final []*parser.Node, base string, sources map[string]string) (string, error) {
	var b strings.Builder
	for _, n := range final {
		cmd := strings.ToLower(n.Value)
		from := slices.IndexFunc(n.Flags, func(f string) bool { return strings.HasPrefix(f, "--from=") })
		switch {
		case cmd == "from":
			fmt.Fprintf(&b, "FROM %s\n", base)
		case (cmd == "copy" || cmd == "add") && from >= 0:
			var words []string
			for a := n.Next; a != nil; a = a.Next {
				words = append(words, a.Value)
			}
			if len(words) < 2 {
				return "", fmt.Errorf("line %d: %s has no source", n.StartLine, n.Original)
			}
			for i, src := range words[:len(words)-1] {
				ctxName, ok := sources[src]
				if !ok {
					return "", fmt.Errorf("line %d: %s copies %s from another stage, and this test does not know where that file comes from; teach runtimeDockerfile's caller", n.StartLine, n.Original, src)
				}
				words[i] = ctxName
			}
			flags := slices.Delete(slices.Clone(n.Flags), from, from+1)
			fmt.Fprintln(&b, strings.Join(append(append([]string{strings.ToUpper(cmd)}, flags...), words...), " "))
		default:
			fmt.Fprintln(&b, n.Original)
		}
	}
	return b.String(), nil
}

// numericUser reads USER uid[:gid]; the Dockerfile uses numbers so that no
// /etc/passwd lookup is needed to start the job. Without a group the job runs
// in group 0, as Docker runs a user the base's /etc/passwd does not list.
func numericUser(user string) (uid, gid int, err error) {
	u, g, hasG := strings.Cut(user, ":")
	if uid, err = strconv.Atoi(u); err != nil {
		return 0, 0, fmt.Errorf("the Dockerfile's USER %q is not numeric: this test runs numeric users", user)
	}
	if hasG {
		if gid, err = strconv.Atoi(g); err != nil {
			return 0, 0, fmt.Errorf("the Dockerfile's USER %q has a group that is not numeric", user)
		}
	}
	return uid, gid, nil
}

// pushBase pushes the stand-in for the Dockerfile's busybox base to the
// registry at host and returns its reference: Debian's busybox-static with
// /bin/sh and every other applet linked to it, as the busybox image has them
// (busybox sh runs an applet it has no link for through /proc/self/exe, and
// a chroot has no /proc), /tmp, and the user in /etc/passwd and /etc/group.
func pushBase(tb testing.TB, host string, uid, gid int) string {
	tb.Helper()
	bb, err := os.ReadFile(busyboxPath)
	if err != nil {
		tb.Fatal(err)
	}
	list, err := exec.CommandContext(tb.Context(), busyboxPath, "--list").Output()
	if err != nil {
		tb.Fatalf("%s --list: %v", busyboxPath, err)
	}
	applets := strings.Fields(string(list))
	if !slices.Contains(applets, "sh") {
		tb.Fatalf("%s has no sh applet", busyboxPath)
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/bin/sh\nnonroot:x:%d:%d:nonroot:/home/nonroot:/bin/sh\n", uid, gid)
	group := "root:x:0:\n"
	if gid != 0 {
		group += fmt.Sprintf("nonroot:x:%d:\n", gid)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type entry struct {
		name     string
		mode     int64
		data     string
		link     string
		uid, gid int
	}
	entries := []entry{
		{name: "bin/", mode: 0o755},
		{name: "bin/busybox", mode: 0o755, data: string(bb)},
	}
	sort.Strings(applets)
	for _, a := range applets {
		if a != "busybox" && !strings.Contains(a, "/") {
			entries = append(entries, entry{name: "bin/" + a, link: "busybox"})
		}
	}
	entries = append(entries,
		entry{name: "etc/", mode: 0o755},
		entry{name: "etc/group", mode: 0o644, data: group},
		entry{name: "etc/passwd", mode: 0o644, data: passwd},
		entry{name: "home/", mode: 0o755},
		entry{name: "home/nonroot/", mode: 0o755, uid: uid, gid: gid},
		entry{name: "root/", mode: 0o700},
		entry{name: "tmp/", mode: 0o1777},
	)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: created, Format: tar.FormatPAX}
		switch {
		case e.link != "":
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, e.link, 0o777
		case strings.HasSuffix(e.name, "/"):
			hdr.Typeflag = tar.TypeDir
		default:
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			tb.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.data); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		tb.Fatal(err)
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{Created: v1.Time{Time: created}, CreatedBy: "busybox-static from Debian (test stand-in for the busybox base)"}})
	if err != nil {
		tb.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		tb.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", runtime.GOARCH, v1.Time{Time: created}
	cf.Config.Env = []string{"PATH=" + basePath}
	cf.Config.Cmd = []string{"sh"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		tb.Fatal(err)
	}
	ref, err := name.NewTag(host + "/debian/busybox-static:test")
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithContext(tb.Context())); err != nil {
		tb.Fatalf("pushing the base image: %v", err)
	}
	return ref.String()
}

// untar writes a flattened image filesystem (mutate.Extract) under dir, with
// the owners and modes of the tar; os.Root keeps every write inside dir.
func untar(r io.Reader, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
		if name == "" {
			continue
		}
		if d := path.Dir(name); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		mode := hdr.FileInfo().Mode()
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			f, err := root.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr) //nolint:gosec // the image is one this test built
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := root.Symlink(hdr.Linkname, name); err != nil {
				return err
			}
		case tar.TypeLink:
			if err := root.Link(strings.TrimPrefix(path.Clean("/"+hdr.Linkname), "/"), name); err != nil {
				return err
			}
			continue
		default:
			return fmt.Errorf("%s: tar entry type %q is not handled", hdr.Name, hdr.Typeflag)
		}
		if err := root.Lchown(name, hdr.Uid, hdr.Gid); err != nil {
			return err
		}
		if hdr.Typeflag != tar.TypeSymlink {
			// After the chown, which clears set-id bits.
			if err := root.Chmod(name, mode.Perm()|mode&(os.ModeSetuid|os.ModeSetgid|os.ModeSticky)); err != nil {
				return err
			}
		}
	}
}

// countCertificates counts the PEM certificates in a bundle that parse.
func countCertificates(bundle []byte) int {
	n := 0
	for {
		var block *pem.Block
		block, bundle = pem.Decode(bundle)
		if block == nil {
			return n
		}
		if _, err := x509.ParseCertificate(block.Bytes); block.Type == "CERTIFICATE" && err == nil {
			n++
		}
	}
}

type layerSize struct {
	what                     string
	compressed, uncompressed int64
}

// layerSizes gives each layer's size as pushed (gzip) and unpacked (tar).
func layerSizes(img v1.Image) ([]layerSize, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	var history []string
	for _, h := range cf.History {
		if !h.EmptyLayer {
			history = append(history, h.CreatedBy)
		}
	}
	out := make([]layerSize, 0, len(layers))
	for i, l := range layers {
		s := layerSize{what: fmt.Sprintf("layer %d", i+1)}
		if i < len(history) {
			s.what = history[i]
			if len(s.what) > 60 {
				s.what = s.what[:57] + "..."
			}
		}
		if s.compressed, err = l.Size(); err != nil {
			return nil, err
		}
		rc, err := l.Uncompressed()
		if err != nil {
			return nil, err
		}
		s.uncompressed, err = io.Copy(io.Discard, rc)
		_ = rc.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
