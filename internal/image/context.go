package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// A repository's content decides what a build copies, and a repository can
// hold symbolic links: to /etc/passwd, up out of the checkout, or a context
// folder that is itself a link. None of them may take a runner's files into
// an image. Every read of the build goes through an os.Root, which follows a
// link only while it stays inside its folder (and never an absolute one), so
// the check cannot be raced by swapping a link between a check and the read.
// Links inside a copied folder are kept as links, as Docker keeps them: what
// they point at is then the image's own file system, not the runner's.

// buildContext is the opened build context: every file the build reads comes
// through root.
type buildContext struct {
	dir    string // as the settings gave it, for messages
	root   *os.Root
	ignore *patternmatcher.PatternMatcher
}

// openContext opens the build context dir. Links on its way below project
// (the checkout: CI_PROJECT_DIR or the working folder) must stay inside
// project; a context outside project was chosen by the settings, not by the
// repository, and is taken as it is.
func openContext(project, dir string) (*buildContext, error) {
	root, err := openInProject(project, dir, "build context", "BG_BUILD_CONTEXT", func(r *os.Root, rel string) (*os.Root, error) { return r.OpenRoot(rel) }, os.OpenRoot)
	if err != nil {
		return nil, err
	}
	c := &buildContext{dir: dir, root: root}
	if c.ignore, err = c.readDockerignore(); err != nil {
		_ = root.Close()
		return nil, err
	}
	return c, nil
}

func (c *buildContext) Close() error { return c.root.Close() }

// openDockerfile opens the Dockerfile under the same rule as the context.
func openDockerfile(project, file string) (*os.File, error) {
	return openInProject(project, file, "Dockerfile", "BG_DOCKERFILE", func(r *os.Root, rel string) (*os.File, error) { return r.Open(rel) }, os.Open)
}

// openInProject opens p with inProject when p lies inside project (so links
// on its way cannot leave project), else with outside.
func openInProject[T any](project, p, what, setting string, inProject func(*os.Root, string) (T, error), outside func(string) (T, error)) (T, error) {
	var zero T
	abs, err := filepath.Abs(p)
	if err != nil {
		return zero, &DockerfileError{File: p, Msg: fmt.Sprintf("the %s (%s): %v", what, setting, err)}
	}
	rel := ""
	if project != "" {
		if proj, err := filepath.Abs(project); err == nil {
			if r, err := filepath.Rel(proj, abs); err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) {
				rel = r
			}
		}
	}
	if rel == "" {
		v, err := outside(abs)
		if err != nil {
			return zero, missing(p, what, setting, err)
		}
		return v, nil
	}
	proj, err := os.OpenRoot(project)
	if err != nil {
		return zero, &DockerfileError{File: project, Msg: fmt.Sprintf("the project folder: %v", err)}
	}
	defer proj.Close()
	v, err := inProject(proj, rel)
	if err == nil {
		return v, nil
	}
	if lerr := explainLink(proj, filepath.ToSlash(rel), "project folder "+project); lerr != nil {
		return zero, &DockerfileError{File: p, Msg: fmt.Sprintf("the %s (%s) %s; point %s at a real folder or file inside the project", what, setting, lerr, setting)}
	}
	return zero, missing(p, what, setting, err)
}

func missing(p, what, setting string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &DockerfileError{File: p, Msg: fmt.Sprintf("the %s does not exist; check %s (relative paths start at the project folder)", what, setting)}
	}
	return &DockerfileError{File: p, Msg: fmt.Sprintf("the %s (%s) cannot be opened: %v", what, setting, err)}
}

// explainLink says why rel cannot be reached inside root when a symbolic
// link is the cause: the first link on the way whose target leaves root, is
// absolute or does not exist. It returns nil when no link is to blame.
func explainLink(root *os.Root, rel, inside string) error {
	parts := strings.Split(path.Clean(rel), "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		target, kind := linkAt(root, p)
		if kind == noEntry {
			break // missing before any link: no link to blame
		}
		if kind == notLink {
			continue
		}
		if _, err := root.Stat(p); err == nil {
			continue // this link is fine; a later part is to blame
		}
		via := "is reached through " + p + ", "
		if i == len(parts)-1 {
			via = "is "
		}
		switch {
		case path.IsAbs(filepath.ToSlash(target)):
			return fmt.Errorf("%sa symbolic link to the absolute path %s: links are followed only while relative and inside the %s", via, target, inside)
		case escapes(path.Dir(p), filepath.ToSlash(target)):
			return fmt.Errorf("%sa symbolic link to %s, which leads outside the %s", via, target, inside)
		default:
			return fmt.Errorf("%sa symbolic link to %s, which does not exist", via, target)
		}
	}
	return nil
}

type entryAt int

const (
	noEntry entryAt = iota
	notLink
	isLink
)

// linkAt says what p is inside root, and a link's target.
func linkAt(root *os.Root, p string) (string, entryAt) {
	fi, err := root.Lstat(p)
	switch {
	case err != nil:
		return "", noEntry
	case fi.Mode()&fs.ModeSymlink == 0:
		return "", notLink
	}
	target, err := root.Readlink(p)
	if err != nil {
		return "", noEntry
	}
	return target, isLink
}

// escapes reports whether target, read relative to the folder dir (both
// relative to a root), climbs above the root at any step.
func escapes(dir, target string) bool {
	depth := 0
	if dir != "." {
		depth = len(strings.Split(dir, "/"))
	}
	for _, part := range strings.Split(target, "/") {
		switch part {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}

// stat is the file a context path names, links followed inside the context.
func (c *buildContext) stat(rel string) (fs.FileInfo, error) {
	fi, err := c.root.Stat(rel)
	if err == nil {
		return fi, nil
	}
	if lerr := explainLink(c.root, rel, "build context"); lerr != nil {
		return nil, fmt.Errorf("%s %w; copy the file into the context, or make the link relative and keep it inside", rel, lerr)
	}
	return nil, fmt.Errorf("%s in the build context %s: %w", rel, c.dir, err)
}

// glob finds the context paths matching a COPY source, relative to the
// context, sorted, without the ones .dockerignore excludes. A source cannot
// name anything above the context: "../x" means "x", as in Docker.
func (c *buildContext) glob(src string) ([]string, error) {
	clean := path.Clean("/" + filepath.ToSlash(src))[1:]
	if clean == "" {
		clean = "."
	}
	matches, err := fs.Glob(c.root.FS(), clean)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", src, err)
	}
	if len(matches) == 0 {
		// fs.Glob hides why a literal path does not match; a link leading
		// out of the context deserves to be named.
		if _, err := c.stat(literalPrefix(clean)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	var out []string
	for _, m := range matches {
		if m != "." && c.ignored(m) {
			continue
		}
		out = append(out, m)
	}
	sort.Strings(out)
	return out, nil
}

// literalPrefix is the part of a glob pattern before its first wildcard.
func literalPrefix(pattern string) string {
	parts := strings.Split(pattern, "/")
	for i, p := range parts {
		if strings.ContainsAny(p, `*?[\`) {
			if i == 0 {
				return "."
			}
			return strings.Join(parts[:i], "/")
		}
	}
	return pattern
}

func (c *buildContext) ignored(rel string) bool {
	if c.ignore == nil {
		return false
	}
	ok, err := c.ignore.MatchesOrParentMatches(rel)
	return err == nil && ok
}

// readDockerignore reads the context's .dockerignore, if any.
func (c *buildContext) readDockerignore() (*patternmatcher.PatternMatcher, error) {
	file := filepath.Join(c.dir, ".dockerignore")
	f, err := c.root.Open(".dockerignore")
	if err != nil {
		if lerr := explainLink(c.root, ".dockerignore", "build context"); lerr != nil {
			return nil, &DockerfileError{File: file, Msg: lerr.Error()}
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, &DockerfileError{File: file, Msg: err.Error()}
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, &DockerfileError{File: file, Msg: err.Error()}
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, &DockerfileError{File: file, Msg: err.Error()}
	}
	return pm, nil
}
