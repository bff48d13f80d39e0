package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// BuildOptions are the inputs of a build; the same inputs give the same
// digest.
type BuildOptions struct {
	// Context is the build context folder; Dockerfile the Dockerfile's path.
	Context, Dockerfile string
	// Args are the build arguments (BG_BUILD_ARGS), for ARG instructions.
	Args map[string]string
	// Created is the timestamp of every file and of the image
	// (SOURCE_DATE_EPOCH or the commit time).
	Created time.Time
	// Labels go into the image config, Annotations onto the manifest (the
	// OCI source, revision, created and version from the CI variables).
	Labels, Annotations map[string]string
}

// Built is a built image or, when FROM named a multi-platform index, an index
// with the same instructions applied to every platform.
type Built struct {
	Image v1.Image
	Index v1.ImageIndex
}

// Digest of the image or index.
func (b *Built) Digest() (v1.Hash, error) {
	if b.Index != nil {
		return b.Index.Digest()
	}
	return b.Image.Digest()
}

// Build reads the Dockerfile, fetches its base image and applies the
// instructions, without running any container.
func (c *Client) Build(ctx context.Context, o BuildOptions) (*Built, error) {
	f, err := os.Open(o.Dockerfile)
	if err != nil {
		return nil, fmt.Errorf("reading the Dockerfile (BG_DOCKERFILE): %w", err)
	}
	df, err := ParseDockerfile(o.Dockerfile, f)
	_ = f.Close()
	if err != nil {
		return nil, err
	}
	ignore, err := readDockerignore(o.Context)
	if err != nil {
		return nil, err
	}
	ex := newExpander(df.escape)
	for _, a := range df.GlobalArgs {
		if err := declareArg(ex, a, o.Args); err != nil {
			return nil, &DockerfileError{File: df.File, Line: a.Line, Msg: err.Error()}
		}
	}
	from := df.Instructions[0]
	base, err := ex.word(from.Args[0])
	if err != nil {
		return nil, &DockerfileError{File: df.File, Line: from.Line, Msg: err.Error()}
	}
	// Only the global ARGs' values pass FROM; the stage starts with none.
	ex.vars = map[string]string{}
	b := &builder{df: df, ctxDir: o.Context, ignore: ignore, opts: o, ex: ex}
	if base == "scratch" {
		img, err := b.apply(scratch())
		if err != nil {
			return nil, err
		}
		return &Built{Image: img}, nil
	}
	ref, err := name.ParseReference(base)
	if err != nil {
		return nil, &DockerfileError{File: df.File, Line: from.Line, Msg: fmt.Sprintf("FROM %s is not an image reference: %v", base, err)}
	}
	desc, err := remote.Get(ref, c.remote(ctx)...)
	if err != nil {
		return nil, c.explain(err, ref.Context(), readingBase, ref.String())
	}
	var want *v1.Platform
	if p := from.Flags["platform"]; p != "" {
		if want, err = v1.ParsePlatform(p); err != nil {
			return nil, &DockerfileError{File: df.File, Line: from.Line, Msg: fmt.Sprintf("--platform=%s: %v", p, err)}
		}
	}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, err
		}
		if want != nil {
			cf, err := img.ConfigFile()
			if err != nil {
				return nil, err
			}
			if got := cf.Platform(); got == nil || !got.Satisfies(*want) {
				return nil, &DockerfileError{File: df.File, Line: from.Line, Msg: fmt.Sprintf("platform mismatch: %s is for %s, not %s; use an image built for %s or drop --platform", base, platformString(got), want, want)}
			}
		}
		out, err := b.apply(img)
		if err != nil {
			return nil, err
		}
		return &Built{Image: out}, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, err
	}
	manifest, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	out := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var have []string
	for _, m := range manifest.Manifests {
		if !m.MediaType.IsImage() {
			continue // attestations and nested indexes are not platforms
		}
		have = append(have, platformString(m.Platform))
		if want != nil && (m.Platform == nil || !m.Platform.Satisfies(*want)) {
			continue
		}
		img, err := idx.Image(m.Digest)
		if err != nil {
			return nil, err
		}
		built, err := b.apply(img)
		if err != nil {
			return nil, err
		}
		out = mutate.AppendManifests(out, mutate.IndexAddendum{Add: built, Descriptor: v1.Descriptor{Platform: m.Platform}})
	}
	if want != nil {
		// One platform asked for: the result is that image alone.
		m, err := out.IndexManifest()
		if err != nil {
			return nil, err
		}
		if len(m.Manifests) == 0 {
			return nil, &DockerfileError{File: df.File, Line: from.Line, Msg: fmt.Sprintf("platform mismatch: %s has %s, not %s", base, strings.Join(have, ", "), want)}
		}
		img, err := out.Image(m.Manifests[0].Digest)
		if err != nil {
			return nil, err
		}
		return &Built{Image: img}, nil
	}
	if len(o.Annotations) > 0 {
		out = mutate.Annotations(out, o.Annotations).(v1.ImageIndex)
	}
	return &Built{Index: out}, nil
}

// Push writes the build to repo by digest and returns the pinned reference.
func (c *Client) Push(ctx context.Context, b *Built, repo name.Repository) (name.Digest, error) {
	d, err := b.Digest()
	if err != nil {
		return name.Digest{}, err
	}
	dst := repo.Digest(d.String())
	if b.Index != nil {
		err = remote.WriteIndex(dst, b.Index, c.remote(ctx)...)
	} else {
		err = remote.Write(dst, b.Image, c.remote(ctx)...)
	}
	if err != nil {
		return name.Digest{}, c.explain(err, repo, "pushing to", repo.String())
	}
	return dst, nil
}

func platformString(p *v1.Platform) string {
	if p == nil {
		return "an unknown platform"
	}
	return p.String()
}

func scratch() v1.Image {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	// The platform of an image of only copied files: what ECS runs by
	// default.
	img, _ = mutate.ConfigFile(img, &v1.ConfigFile{OS: "linux", Architecture: "amd64", RootFS: v1.RootFS{Type: "layers"}})
	return img
}

func declareArg(ex *expander, in Instruction, args map[string]string) error {
	for _, a := range in.Args {
		k, def, hasDef := strings.Cut(a, "=")
		if v, ok := args[k]; ok {
			ex.vars[k] = v
			continue
		}
		if hasDef {
			v, err := ex.word(def)
			if err != nil {
				return err
			}
			ex.vars[k] = v
		}
	}
	return nil
}

type builder struct {
	df     *Dockerfile
	ctxDir string
	ignore *patternmatcher.PatternMatcher
	opts   BuildOptions
	ex     *expander
}

// apply runs the instructions after FROM on img. Each platform gets its own
// variable scope, starting from the base image's environment.
func (b *builder) apply(img v1.Image) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	ex := newExpander(b.df.escape)
	for k, v := range b.ex.vars {
		ex.vars[k] = v
	}
	for _, e := range cf.Config.Env {
		if k, v, ok := strings.Cut(e, "="); ok {
			ex.vars[k] = v
		}
	}
	// Layers match the manifest's family: a Docker base gets Docker layers.
	layerType := types.OCILayer
	if mt, err := img.MediaType(); err == nil && mt == types.DockerManifestSchema2 {
		layerType = types.DockerLayer
	}
	var adds []mutate.Addendum
	cmdSet := false
	for _, in := range b.df.Instructions[1:] {
		fail := func(err error) error { return &DockerfileError{File: b.df.File, Line: in.Line, Msg: err.Error()} }
		words := make([]string, len(in.Args))
		for i, w := range in.Args {
			if in.Cmd == "cmd" || in.Cmd == "entrypoint" || in.Cmd == "arg" {
				words[i] = w // not expanded, as in Docker
				continue
			}
			if words[i], err = ex.word(w); err != nil {
				return nil, fail(err)
			}
		}
		switch in.Cmd {
		case "arg":
			if err := declareArg(ex, in, b.opts.Args); err != nil {
				return nil, fail(err)
			}
		case "env":
			for i := 0; i+1 < len(words); i += 2 {
				cf.Config.Env = setEnv(cf.Config.Env, words[i], words[i+1])
				ex.vars[words[i]] = words[i+1]
			}
		case "label":
			if cf.Config.Labels == nil {
				cf.Config.Labels = map[string]string{}
			}
			for i := 0; i+1 < len(words); i += 2 {
				cf.Config.Labels[words[i]] = words[i+1]
			}
		case "workdir":
			cf.Config.WorkingDir = path.Join("/", cf.Config.WorkingDir, words[0])
			if path.IsAbs(words[0]) {
				cf.Config.WorkingDir = path.Clean(words[0])
			}
		case "user":
			cf.Config.User = words[0]
		case "expose":
			if cf.Config.ExposedPorts == nil {
				cf.Config.ExposedPorts = map[string]struct{}{}
			}
			for _, p := range words {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				port, proto, _ := strings.Cut(p, "/")
				if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || (proto != "tcp" && proto != "udp") {
					return nil, fail(fmt.Errorf("EXPOSE %s is not a port (such as 8080 or 53/udp)", p))
				}
				cf.Config.ExposedPorts[p] = struct{}{}
			}
		case "entrypoint":
			cf.Config.Entrypoint = command(in)
			if !cmdSet {
				cf.Config.Cmd = nil // Docker drops the base image's CMD with a new ENTRYPOINT
			}
		case "cmd":
			cf.Config.Cmd = command(in)
			cmdSet = true
		case "copy", "add":
			layer, err := b.copyLayer(in, words, cf.Config.WorkingDir, layerType)
			if err != nil {
				return nil, fail(err)
			}
			adds = append(adds, mutate.Addendum{Layer: layer, History: v1.History{Created: v1.Time{Time: b.opts.Created}, CreatedBy: in.Original, Comment: "ecs-bluegreen build"}})
		}
	}
	for k, v := range b.opts.Labels {
		if cf.Config.Labels == nil {
			cf.Config.Labels = map[string]string{}
		}
		cf.Config.Labels[k] = v
	}
	out, err := mutate.Append(img, adds...)
	if err != nil {
		return nil, err
	}
	// Append recorded the history and layers; take its config and add ours.
	newCF, err := out.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf.RootFS, cf.History = newCF.RootFS, newCF.History
	cf.Created = v1.Time{Time: b.opts.Created}
	out, err = mutate.ConfigFile(out, cf)
	if err != nil {
		return nil, err
	}
	if len(b.opts.Annotations) > 0 {
		out = mutate.Annotations(out, b.opts.Annotations).(v1.Image)
	}
	return out, nil
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if strings.HasPrefix(e, k+"=") {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

// copyLayer builds the layer of one COPY or ADD: the sources from the build
// context (less .dockerignore) under the destination, with fixed timestamps,
// sorted entries, owner 0:0 unless --chown, and modes normalised to 0644 or
// 0755 unless --chmod, so the bytes depend only on the files' content.
func (b *builder) copyLayer(in Instruction, words []string, workdir string, mt types.MediaType) (v1.Layer, error) {
	srcs, dest := words[:len(words)-1], words[len(words)-1]
	if !path.IsAbs(dest) {
		d := path.Join("/", workdir, dest)
		if strings.HasSuffix(dest, "/") || dest == "." {
			d += "/"
		}
		dest = d
	}
	uid, gid, err := parseChown(in.Flags["chown"])
	if err != nil {
		return nil, err
	}
	var chmod int64 = -1
	if m, ok := in.Flags["chmod"]; ok {
		chmod, err = strconv.ParseInt(m, 8, 32)
		if err != nil || chmod < 0 || chmod > 0o7777 {
			return nil, fmt.Errorf("--chmod=%s is not an octal mode such as 0755", m)
		}
	}
	type entry struct {
		name string // path in the image, without the leading /
		src  string // file on disk; empty for a directory
		dir  bool
		exec bool
	}
	entries := map[string]entry{}
	addParents := func(p string) {
		for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
			entries[d] = entry{name: d, dir: true}
		}
	}
	many := len(srcs) > 1
	for _, s := range srcs {
		if strings.Contains(s, "://") {
			return nil, fmt.Errorf("%s from a URL is not supported: download the file in an earlier job and COPY it from the build context", strings.ToUpper(in.Cmd))
		}
		if in.Cmd == "add" && isArchive(s) {
			return nil, fmt.Errorf("ADD of an archive (%s) would unpack it, which this build does not do: unpack it in an earlier job, or COPY it to keep it whole", s)
		}
		matches, err := b.glob(s)
		if err != nil {
			return nil, err
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("%s matches no file in the build context %s (or .dockerignore excludes it)", s, b.ctxDir)
		}
		many = many || len(matches) > 1
		for _, m := range matches {
			fi, err := os.Stat(filepath.Join(b.ctxDir, m))
			if err != nil {
				return nil, err
			}
			if !fi.IsDir() {
				target := strings.TrimPrefix(dest, "/")
				if strings.HasSuffix(dest, "/") || many {
					target = path.Join(target, path.Base(m))
				}
				target = path.Clean(target)
				entries[target] = entry{name: target, src: filepath.Join(b.ctxDir, m), exec: fi.Mode()&0o111 != 0}
				addParents(target)
				continue
			}
			// A directory: its contents, not itself, go under dest.
			root := path.Clean(strings.TrimPrefix(dest, "/"))
			if root != "." {
				entries[root] = entry{name: root, dir: true}
				addParents(root)
			}
			err = filepath.WalkDir(filepath.Join(b.ctxDir, m), func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel(b.ctxDir, p)
				rel = filepath.ToSlash(rel)
				if rel != m && b.ignored(rel) {
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
				under, _ := filepath.Rel(filepath.Join(b.ctxDir, m), p)
				if under == "." {
					return nil
				}
				target := path.Join(root, filepath.ToSlash(under))
				if target == "." {
					return nil
				}
				info, err := d.Info()
				if err != nil {
					return err
				}
				switch {
				case d.IsDir():
					entries[target] = entry{name: target, dir: true}
				case info.Mode().IsRegular():
					entries[target] = entry{name: target, src: p, exec: info.Mode()&0o111 != 0}
				default:
					return fmt.Errorf("%s is a %s; only regular files and folders can be copied", rel, info.Mode().Type())
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		e := entries[n]
		hdr := &tar.Header{Name: e.name, Uid: uid, Gid: gid, ModTime: b.opts.Created, Format: tar.FormatPAX}
		mode := int64(0o644)
		if e.dir || e.exec {
			mode = 0o755
		}
		if chmod >= 0 {
			mode = chmod
		}
		if e.dir {
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, e.name+"/", mode
			if chmod >= 0 {
				hdr.Mode = 0o755 // Docker applies --chmod to the copied files, not the folders it creates
			}
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, err
			}
			continue
		}
		data, err := os.ReadFile(e.src)
		if err != nil {
			return nil, err
		}
		hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, mode, int64(len(data))
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(mt))
}

// parseChown takes numeric --chown=uid[:gid]; names would need the image's
// /etc/passwd, which a build without a runtime does not read.
func parseChown(s string) (uid, gid int, err error) {
	if s == "" {
		return 0, 0, nil
	}
	u, g, hasG := strings.Cut(s, ":")
	if uid, err = strconv.Atoi(u); err != nil || uid < 0 {
		return 0, 0, fmt.Errorf("--chown=%s: use numeric ids (uid or uid:gid), since user names need the image's /etc/passwd", s)
	}
	gid = uid
	if hasG {
		if gid, err = strconv.Atoi(g); err != nil || gid < 0 {
			return 0, 0, fmt.Errorf("--chown=%s: use numeric ids (uid or uid:gid), since group names need the image's /etc/group", s)
		}
	}
	return uid, gid, nil
}

func isArchive(s string) bool {
	for _, ext := range []string{".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst"} {
		if strings.HasSuffix(strings.ToLower(s), ext) {
			return true
		}
	}
	return false
}

// glob finds the context paths matching a COPY source, relative to the
// context, sorted, without the ones .dockerignore excludes.
func (b *builder) glob(src string) ([]string, error) {
	clean := path.Clean("/" + filepath.ToSlash(src))[1:]
	if clean == "" {
		clean = "."
	}
	matches, err := filepath.Glob(filepath.Join(b.ctxDir, filepath.FromSlash(clean)))
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", src, err)
	}
	var out []string
	for _, m := range matches {
		rel, err := filepath.Rel(b.ctxDir, m)
		if err != nil {
			return nil, err
		}
		rel = filepath.ToSlash(rel)
		if rel != "." && b.ignored(rel) {
			continue
		}
		out = append(out, rel)
	}
	sort.Strings(out)
	return out, nil
}

func (b *builder) ignored(rel string) bool {
	if b.ignore == nil {
		return false
	}
	ok, err := b.ignore.MatchesOrParentMatches(rel)
	return err == nil && ok
}

// readDockerignore reads the context's .dockerignore, if any.
func readDockerignore(dir string) (*patternmatcher.PatternMatcher, error) {
	f, err := os.Open(filepath.Join(dir, ".dockerignore"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	return pm, nil
}
