package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// shape is what one place of an ECS AppSpec may hold (AWS's AppSpec
// reference for ECS deployments): a mapping with known members, a list, or a
// single value. anyKey is a mapping whose keys the user names (the resource,
// TargetService, and each hook).
type shape struct {
	members map[string]*shape
	anyKey  *shape
	list    *shape
	scalar  bool
}

var (
	scalarShape = &shape{scalar: true}
	appSpecRoot = &shape{members: map[string]*shape{
		"version": scalarShape,
		"Resources": {list: &shape{anyKey: &shape{members: map[string]*shape{
			"Type": scalarShape,
			"Properties": {members: map[string]*shape{
				"TaskDefinition":   scalarShape,
				"PlatformVersion":  scalarShape,
				"LoadBalancerInfo": {members: map[string]*shape{"ContainerName": scalarShape, "ContainerPort": scalarShape}},
				"NetworkConfiguration": {members: map[string]*shape{"AwsvpcConfiguration": {members: map[string]*shape{
					"Subnets":        {list: scalarShape},
					"SecurityGroups": {list: scalarShape},
					"AssignPublicIp": scalarShape,
				}}}},
				"CapacityProviderStrategy": {list: &shape{members: map[string]*shape{"CapacityProvider": scalarShape, "Base": scalarShape, "Weight": scalarShape}}},
			}},
		}}}},
		"Hooks": {list: &shape{anyKey: scalarShape}},
	}}
)

// yamlLine finds the line yaml.v3 names in its error messages.
var yamlLine = regexp.MustCompile(`line (\d+)`)

// decodeAppSpec reads exactly one YAML document and checks it node by node:
// a second document, a key given twice, anchors and aliases (an AppSpec has
// no use for them, and expanding them is how small files grow huge), and
// any member the AppSpec does not define are errors naming the line.
func decodeAppSpec(data []byte, file string) (yaml.Node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	err := dec.Decode(&doc)
	switch {
	case errors.Is(err, io.EOF):
		return doc, &FieldError{File: file, Msg: "the file is empty"}
	case err != nil:
		return doc, yamlError(err, file)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return doc, &FieldError{File: file, Line: secondDocLine(&next), Msg: "holds a second YAML document (after ---): an AppSpec is one document, and CodeDeploy would read only the first"}
	case !errors.Is(err, io.EOF):
		return doc, yamlError(err, file)
	}
	var errs []error
	checkYAML(&doc, appSpecRoot, "", file, &errs)
	if len(errs) > 0 {
		sortErrors(errs)
		return doc, errors.Join(errs...)
	}
	return doc, nil
}

func yamlError(err error, file string) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = strings.TrimSpace(strings.Replace(msg, m[0]+":", "", 1))
	}
	return &FieldError{File: file, Line: line, Msg: "not valid YAML or JSON: " + msg}
}

// checkYAML walks n next to its expected shape s (nil: not checked further).
func checkYAML(n *yaml.Node, s *shape, path, file string, errs *[]error) {
	bad := func(n *yaml.Node, path, format string, args ...any) {
		*errs = append(*errs, &FieldError{File: file, Line: n.Line, Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if n.Anchor != "" {
		bad(n, path, "uses a YAML anchor (&%s): anchors and aliases are not supported in an AppSpec", n.Anchor)
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			checkYAML(c, s, path, file, errs)
		}
		return
	case yaml.AliasNode:
		bad(n, path, "uses a YAML alias (*%s): anchors and aliases are not supported in an AppSpec", n.Value)
		return
	}
	if s == nil {
		return
	}
	switch {
	case s.scalar:
		if n.Kind != yaml.ScalarNode {
			bad(n, path, "must be a single value")
		}
	case s.list != nil:
		if n.Kind != yaml.SequenceNode {
			bad(n, path, "must be a list")
			return
		}
		for i, c := range n.Content {
			checkYAML(c, s.list, path+"["+strconv.Itoa(i)+"]", file, errs)
		}
	default:
		if n.Kind != yaml.MappingNode {
			bad(n, path, "must be a mapping of names to values")
			return
		}
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				bad(k, path, "has a key that is not a plain name")
				continue
			}
			p := join(path, k.Value)
			if k.Value == "<<" && k.Tag == "!!merge" {
				bad(k, path, "uses a YAML merge key (<<): write the members out")
				continue
			}
			if first, dup := seen[k.Value]; dup {
				bad(k, p, "is given twice (first on line %d): YAML readers disagree on which one counts, so remove one", first)
				continue
			}
			seen[k.Value] = k.Line
			child := s.anyKey
			if s.members != nil {
				var ok bool
				if child, ok = s.members[k.Value]; !ok {
					bad(k, p, "unknown member %q: %s", k.Value, knownMembers(s, k.Value))
					continue
				}
			}
			checkYAML(v, child, p, file, errs)
		}
	}
}

// knownMembers says what may stand where an unknown member was found,
// naming the member meant when only the case differs.
func knownMembers(s *shape, got string) string {
	names := make([]string, 0, len(s.members))
	for k := range s.members {
		if strings.EqualFold(k, got) {
			return fmt.Sprintf("member names are case-sensitive, did you mean %q?", k)
		}
		names = append(names, k)
	}
	sort.Strings(names)
	return "CodeDeploy's AppSpec has " + strings.Join(names, ", ") + " here"
}

// secondDocLine is where a second document starts: its first node, or the
// line yaml.v3 gives the document itself when it is empty.
func secondDocLine(doc *yaml.Node) int {
	if len(doc.Content) > 0 && doc.Content[0].Line > 0 {
		return doc.Content[0].Line
	}
	return max(doc.Line, 1)
}
