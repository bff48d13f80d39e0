package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// DockerfileError is a Dockerfile problem with its place and, where there is
// one, what to do instead.
type DockerfileError struct {
	File string
	Line int
	Msg  string
}

func (e *DockerfileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Instruction is one Dockerfile instruction of the supported subset, with its
// arguments as written (variables are expanded when the build reaches it).
type Instruction struct {
	// Cmd is the instruction in lower case: from, copy, add, env, arg,
	// workdir, user, expose, label, entrypoint, cmd.
	Cmd  string
	Line int
	// Args are the words; for env and label, key/value pairs in turn.
	Args []string
	// Flags are --name=value flags (copy, add).
	Flags map[string]string
	// JSON is set for the exec form of entrypoint and cmd.
	JSON bool
	// Original is the instruction's text, for the image history.
	Original string
}

// Dockerfile is a parsed single-stage Dockerfile.
type Dockerfile struct {
	File string
	// GlobalArgs are the ARGs before FROM, usable in FROM.
	GlobalArgs   []Instruction
	Instructions []Instruction // from FROM on
	escape       rune
}

// supportedFlags are the flags each instruction may carry.
var supportedFlags = map[string][]string{"copy": {"chown", "chmod"}, "add": {"chown", "chmod"}, "from": {"platform"}}

// ParseDockerfile reads a Dockerfile with BuildKit's parser (line
// continuations, the escape directive, JSON forms) and keeps it to the subset
// a build without a container runtime can honour. Anything else is a
// *DockerfileError naming the line.
func ParseDockerfile(file string, r io.Reader) (*Dockerfile, error) {
	res, err := parser.Parse(r)
	if err != nil {
		return nil, &DockerfileError{File: file, Msg: err.Error()}
	}
	df := &Dockerfile{File: file, escape: res.EscapeToken}
	sawFrom := false
	for _, n := range res.AST.Children {
		cmd := strings.ToLower(n.Value)
		bad := func(format string, a ...any) error {
			return &DockerfileError{File: file, Line: n.StartLine, Msg: fmt.Sprintf(format, a...)}
		}
		if len(n.Heredocs) > 0 {
			return nil, bad("heredocs are not supported; put the content in a file of the build context and COPY it")
		}
		switch cmd {
		case "from", "copy", "add", "env", "arg", "workdir", "user", "expose", "label", "entrypoint", "cmd":
		case "run":
			return nil, bad("RUN needs a container runtime, which this build does not use; build that image in an earlier job (docker, kaniko, buildah) and use it in FROM, or pass it to release as BG_IMAGE")
		default:
			return nil, bad("%s is not supported by this build (supported: FROM, COPY, ADD, ENV, ARG, WORKDIR, USER, EXPOSE, LABEL, ENTRYPOINT, CMD); build the image with another tool in an earlier job and pass it as BG_IMAGE", strings.ToUpper(cmd))
		}
		in := Instruction{Cmd: cmd, Line: n.StartLine, Flags: map[string]string{}, JSON: n.Attributes["json"], Original: strings.TrimSpace(n.Original)}
		for _, f := range n.Flags {
			k, v, ok := strings.Cut(strings.TrimPrefix(f, "--"), "=")
			if !strings.HasPrefix(f, "--") || !ok || !contains(supportedFlags[cmd], k) {
				return nil, bad("flag %s is not supported on %s", f, strings.ToUpper(cmd))
			}
			in.Flags[k] = v
		}
		for a := n.Next; a != nil; a = a.Next {
			in.Args = append(in.Args, a.Value)
		}
		if cmd == "env" || cmd == "label" {
			// BuildKit gives key, value, separator triples; keep the pairs.
			var pairs []string
			for i := 0; i+1 < len(in.Args); i += 3 {
				pairs = append(pairs, in.Args[i], in.Args[i+1])
			}
			in.Args = pairs
		}
		if len(in.Args) == 0 && cmd != "cmd" && cmd != "entrypoint" {
			return nil, bad("%s needs arguments", strings.ToUpper(cmd))
		}
		switch {
		case cmd == "from":
			if sawFrom {
				return nil, bad("multi-stage builds are not supported (a second FROM); build the earlier stage in another job")
			}
			if len(in.Args) != 1 {
				return nil, bad("FROM takes one image (AS names a stage, and multi-stage builds are not supported)")
			}
			sawFrom = true
		case !sawFrom && cmd != "arg":
			return nil, bad("%s before FROM; only ARG may come before FROM", strings.ToUpper(cmd))
		case (cmd == "copy" || cmd == "add") && len(in.Args) < 2:
			return nil, bad("%s needs a source and a destination", strings.ToUpper(cmd))
		case (cmd == "workdir" || cmd == "user") && len(in.Args) != 1:
			return nil, bad("%s takes one argument", strings.ToUpper(cmd))
		}
		if !sawFrom {
			df.GlobalArgs = append(df.GlobalArgs, in)
			continue
		}
		df.Instructions = append(df.Instructions, in)
	}
	if !sawFrom {
		return nil, &DockerfileError{File: file, Msg: "no FROM instruction (use FROM scratch for an image of only the copied files)"}
	}
	return df, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// expander expands $VAR and ${VAR} in instruction words, as BuildKit does,
// from the ARGs and ENVs in scope.
type expander struct {
	lex  *shell.Lex
	vars map[string]string
}

func newExpander(escape rune) *expander {
	return &expander{lex: shell.NewLex(escape), vars: map[string]string{}}
}

func (e *expander) Get(k string) (string, bool) { v, ok := e.vars[k]; return v, ok }

func (e *expander) Keys() []string {
	keys := make([]string, 0, len(e.vars))
	for k := range e.vars {
		keys = append(keys, k)
	}
	return keys
}

func (e *expander) word(s string) (string, error) {
	out, _, err := e.lex.ProcessWord(s, e)
	return out, err
}

// command turns the words of CMD or ENTRYPOINT into the config's form: the
// exec (JSON) form as is, the shell form through /bin/sh -c as Docker does.
func command(in Instruction) []string {
	if in.JSON {
		return append([]string{}, in.Args...)
	}
	if len(in.Args) == 0 {
		return nil
	}
	return []string{"/bin/sh", "-c", strings.Join(in.Args, " ")}
}

// String prints the Dockerfile back in a canonical form, for tests.
func (df *Dockerfile) String() string {
	var b bytes.Buffer
	for _, in := range append(append([]Instruction{}, df.GlobalArgs...), df.Instructions...) {
		args, _ := json.Marshal(in.Args)
		fmt.Fprintf(&b, "%d %s %v %s json=%v\n", in.Line, in.Cmd, in.Flags, args, in.JSON)
	}
	return b.String()
}
