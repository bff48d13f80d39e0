package image

import (
	"archive/tar"
	"context"
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
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BuildOptions are the inputs of a build; the same inputs give the same
// digest.
type BuildOptions struct {
	// Context is the build context folder; Dockerfile the Dockerfile's path.
	Context, Dockerfile string
	// Project is the checkout (CI_PROJECT_DIR, else the working folder):
	// symbolic links on the way to the context or the Dockerfile must stay
	// inside it. Empty: no such check, for paths the settings chose.
	Project string
	// Args are the build arguments (BG_BUILD_ARGS), for ARG instructions.
	Args map[string]string
	// Created is the timestamp of every file and of the image
	// (SOURCE_DATE_EPOCH or the commit time).
	Created time.Time
	// Labels go into the image config, Annotations onto the manifest (the
	// OCI source, revision, created and version from the CI variables).
	Labels, Annotations map[string]string

	// concurrency is how many compression blocks run at once (0: two per
	// core); tests set 1 to compare with a single-threaded build.
	concurrency int
}

// Built is a built image or, when FROM named a multi-platform index, an index
// with the same instructions applied to every platform.
type Built struct {
	Image v1.Image
	Index v1.ImageIndex

	tmp string // the layers' files; Close removes them
}

// Close removes the built layers' files; call it once the build is pushed.
func (b *Built) Close() error {
	if b == nil || b.tmp == "" {
		return nil
	}
	return os.RemoveAll(b.tmp)
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
func (c *Client) Build(ctx context.Context, o BuildOptions) (_ *Built, err error) {
	f, err := openDockerfile(o.Project, o.Dockerfile)
	if err != nil {
		return nil, err
	}
	df, err := ParseDockerfile(o.Dockerfile, f)
	_ = f.Close()
	if err != nil {
		return nil, err
	}
	bctx, err := openContext(o.Project, o.Context)
	if err != nil {
		return nil, err
	}
	defer bctx.Close()
	tmp, err := os.MkdirTemp("", "ecs-bluegreen-build-")
	if err != nil {
		return nil, fmt.Errorf("a folder for the layers: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(tmp)
		}
	}()
	built, err := c.build(ctx, o, df, &builder{df: df, ctx: bctx, opts: o, tmp: tmp, layers: map[string]v1.Layer{}})
	if err != nil {
		return nil, err
	}
	built.tmp = tmp
	return built, nil
}

func (c *Client) build(ctx context.Context, o BuildOptions, df *Dockerfile, b *builder) (*Built, error) {
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
	b.ex = ex
	if base == "scratch" {
		img, err := b.apply(scratch())
		if err != nil {
			return nil, err
		}
		return &Built{Image: img}, nil
	}
	ref, err := name.ParseReference(base)
	if err == nil {
		err = checkRegistryPort(ref.Context().RegistryStr())
	}
	if err != nil {
		return nil, &DockerfileError{File: df.File, Line: from.Line, Msg: fmt.Sprintf("FROM %s is not an image reference (such as alpine:3.20 or registry.example.com/team/base@sha256:…): %v", base, err)}
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

// Push writes the build to repo under tag and returns the reference pinned
// by digest. The tag matters: GitLab's registry garbage-collects untagged
// manifests, and common tools cannot list an untagged repository. An empty
// tag means build-<first 12 hex digits of the digest>.
func (c *Client) Push(ctx context.Context, b *Built, repo name.Repository, tag string) (name.Digest, error) {
	d, err := b.Digest()
	if err != nil {
		return name.Digest{}, err
	}
	if tag == "" {
		tag = "build-" + d.Hex[:12]
	}
	dst := repo.Tag(tag)
	if b.Index != nil {
		err = remote.WriteIndex(dst, b.Index, c.remote(ctx)...)
	} else {
		err = remote.Write(dst, b.Image, c.remote(ctx)...)
	}
	if err != nil {
		return name.Digest{}, c.explain(err, repo, "pushing to", dst.String())
	}
	return repo.Digest(d.String()), nil
}

// checkRegistryPort refuses a registry port outside 1-65535, which
// go-containerregistry accepts and the network refuses much later.
func checkRegistryPort(host string) error {
	i := strings.LastIndex(host, ":")
	if i < 0 || strings.HasSuffix(host, "]") {
		return nil
	}
	if n, err := strconv.Atoi(host[i+1:]); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("registry port %q is not a port from 1 to 65535", host[i+1:])
	}
	return nil
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
	df   *Dockerfile
	ctx  *buildContext
	opts BuildOptions
	ex   *expander
	tmp  string // where layers are written
	// layers are the COPY layers already written, by what decides their
	// bytes: every platform of a multi-platform base shares them.
	layers map[string]v1.Layer
	buf    []byte // copies files into the layer
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
// Links inside a copied folder stay links; a source that is a link is
// followed, inside the context only.
func (b *builder) copyLayer(in Instruction, words []string, workdir string, mt types.MediaType) (v1.Layer, error) {
	key := fmt.Sprintf("%d %q %q %s", in.Line, words, workdir, mt)
	if l, ok := b.layers[key]; ok {
		return l, nil
	}
	entries, err := b.copyEntries(in, words, workdir)
	if err != nil {
		return nil, err
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
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	layer, err := writeLayer(b.tmp, mt, b.opts.concurrency, func(tw *tar.Writer) error {
		for _, n := range names {
			if err := b.writeEntry(tw, entries[n], uid, gid, chmod); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	b.layers[key] = layer
	return layer, nil
}

type entryKind int

const (
	entryDir entryKind = iota
	entryFile
	entryLink
)

// copyEntry is one entry of a COPY layer.
type copyEntry struct {
	name string // path in the image, without the leading /
	kind entryKind
	src  string // the file's path in the context
	link string // a link's target, as written
	exec bool
}

// copyEntries lists what one COPY or ADD puts in its layer, by image path.
func (b *builder) copyEntries(in Instruction, words []string, workdir string) (map[string]copyEntry, error) {
	srcs, dest := words[:len(words)-1], words[len(words)-1]
	if !path.IsAbs(dest) {
		d := path.Join("/", workdir, dest)
		if strings.HasSuffix(dest, "/") || dest == "." {
			d += "/"
		}
		dest = d
	}
	entries := map[string]copyEntry{}
	addParents := func(p string) {
		for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
			entries[d] = copyEntry{name: d, kind: entryDir}
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
		matches, err := b.ctx.glob(s)
		if err != nil {
			return nil, err
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("%s matches no file in the build context %s (or .dockerignore excludes it)", s, b.ctx.dir)
		}
		many = many || len(matches) > 1
		for _, m := range matches {
			fi, err := b.ctx.stat(m)
			if err != nil {
				return nil, err
			}
			if !fi.IsDir() {
				if !fi.Mode().IsRegular() {
					return nil, fmt.Errorf("%s is a %s; only regular files, folders and links can be copied", m, fi.Mode().Type())
				}
				target := strings.TrimPrefix(dest, "/")
				if strings.HasSuffix(dest, "/") || many {
					target = path.Join(target, path.Base(m))
				}
				target = path.Clean(target)
				entries[target] = copyEntry{name: target, kind: entryFile, src: m, exec: fi.Mode()&0o111 != 0}
				addParents(target)
				continue
			}
			// A folder: its contents, not itself, go under dest.
			root := path.Clean(strings.TrimPrefix(dest, "/"))
			if root != "." {
				entries[root] = copyEntry{name: root, kind: entryDir}
				addParents(root)
			}
			err = fs.WalkDir(b.ctx.root.FS(), m, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if p != m && b.ctx.ignored(p) {
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
				under := strings.TrimPrefix(strings.TrimPrefix(p, m), "/")
				if m == "." {
					under = p
				}
				if p == m || under == "" {
					return nil
				}
				target := path.Join(root, under)
				switch t := d.Type(); {
				case d.IsDir():
					entries[target] = copyEntry{name: target, kind: entryDir}
				case t&fs.ModeSymlink != 0:
					link, err := b.ctx.root.Readlink(p)
					if err != nil {
						return err
					}
					entries[target] = copyEntry{name: target, kind: entryLink, link: link}
				case t.IsRegular():
					info, err := d.Info()
					if err != nil {
						return err
					}
					entries[target] = copyEntry{name: target, kind: entryFile, src: p, exec: info.Mode()&0o111 != 0}
				default:
					return fmt.Errorf("%s is a %s; only regular files, folders and links can be copied", p, t)
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return entries, nil
}

// writeEntry writes one entry, streaming a file's content from the context.
func (b *builder) writeEntry(tw *tar.Writer, e copyEntry, uid, gid int, chmod int64) error {
	hdr := &tar.Header{Name: e.name, Uid: uid, Gid: gid, ModTime: b.opts.Created, Format: tar.FormatPAX}
	switch e.kind {
	case entryDir:
		// Docker applies --chmod to the copied files, not the folders.
		hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, e.name+"/", 0o755
		return tw.WriteHeader(hdr)
	case entryLink:
		hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, e.link, 0o777
		return tw.WriteHeader(hdr)
	}
	f, err := b.ctx.root.Open(e.src)
	if err != nil {
		return fmt.Errorf("reading %s from the build context: %w", e.src, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s changed while the build read it: it is now a %s", e.src, fi.Mode().Type())
	}
	hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeReg, fi.Size(), 0o644
	if e.exec {
		hdr.Mode = 0o755
	}
	if chmod >= 0 {
		hdr.Mode = chmod
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if b.buf == nil {
		b.buf = make([]byte, 1<<20) // big reads: a sparse gigabyte is many small syscalls otherwise
	}
	if n, err := io.CopyBuffer(tw, io.LimitReader(f, fi.Size()), b.buf); err != nil || n != fi.Size() {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("reading %s from the build context (%d of %d bytes): %w", e.src, n, fi.Size(), err)
	}
	return nil
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
