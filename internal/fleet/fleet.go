// Package fleet runs status or verify over several services in one run:
// the services file, and a bounded run that keeps every service's outcome.
package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Entry is one service of the services file: a name (its folder under the
// output folder and its row) and the settings of its model (BG_CLUSTER,
// BG_SERVICE or BG_BLUE_SERVICE/BG_GREEN_SERVICE, BG_ECR_REPOSITORY, ...)
// that override the job's own for that service.
type Entry struct {
	Name string            `yaml:"name" json:"name"`
	Env  map[string]string `yaml:"env" json:"env"`
}

// File is the services file: YAML, or JSON (which YAML reads too).
//
//	services:
//	  - name: web
//	    env: {BG_CLUSTER: prod, BG_SERVICE: web}
//	  - name: shop
//	    env: {BG_CLUSTER: prod, BG_BLUE_SERVICE: shop-blue, BG_GREEN_SERVICE: shop-green, BG_LISTENER_ARN: "arn:..."}
type File struct {
	Services []Entry `yaml:"services" json:"services"`
}

var (
	namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	varPattern  = regexp.MustCompile(`^(BG|AWS)_[A-Z0-9_]+$`)
)

// maxServices bounds one run (and one page).
const maxServices = 200

// reserved are settings the run sets for each service itself.
var reserved = map[string]string{
	"BG_OUTPUT_DIR":    "each service writes to <BG_OUTPUT_DIR>/services/<name>",
	"BG_SERVICES_FILE": "a service cannot list more services",
}

// Parse reads a services file and reports every problem at once: no
// services, a name that is missing, repeated or not usable as a folder
// name, a variable that is not a BG_ or AWS_ setting or is one the run sets.
func Parse(data []byte) ([]Entry, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	// A misspelt key (names for name, service for services) must not silently drop services.
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the services file is empty (want services: [{name: ..., env: {...}}])")
		}
		return nil, fmt.Errorf("the services file is not YAML or JSON as documented: %w", err)
	}
	if err := dec.Decode(new(yaml.Node)); !errors.Is(err, io.EOF) {
		return nil, errors.New("the services file holds more than one YAML document: put every service under one services: list")
	}
	var problems []string
	if len(f.Services) == 0 {
		problems = append(problems, "it lists no services (want services: [{name: ..., env: {...}}])")
	}
	if len(f.Services) > maxServices {
		problems = append(problems, fmt.Sprintf("it lists %d services, at most %d", len(f.Services), maxServices))
	}
	seen := map[string]bool{}
	for i, e := range f.Services {
		where := fmt.Sprintf("service %d", i+1)
		switch {
		case e.Name == "":
			problems = append(problems, where+" has no name")
		case !namePattern.MatchString(e.Name):
			problems = append(problems, fmt.Sprintf("%s: the name %q must be letters, digits, '.', '_' or '-' (it names a folder)", where, e.Name))
		case seen[e.Name]:
			problems = append(problems, fmt.Sprintf("%s: the name %q is used twice", where, e.Name))
		}
		seen[e.Name] = true
		for k := range e.Env {
			switch {
			case reserved[k] != "":
				problems = append(problems, fmt.Sprintf("%s: %s cannot be set here: %s", where, k, reserved[k]))
			case !varPattern.MatchString(k):
				problems = append(problems, fmt.Sprintf("%s: %q is not a BG_ or AWS_ setting", where, k))
			}
		}
	}
	if len(problems) > 0 {
		return nil, errors.New("the services file: " + strings.Join(problems, "; "))
	}
	return f.Services, nil
}

// Run calls each for every entry, at most limit at once, and returns the
// results in the entries' order. A failing service does not stop the
// others; a cancelled ctx stops starting new ones (each gets ctx's error).
func Run[R any](ctx context.Context, entries []Entry, limit int, each func(context.Context, Entry) R, cancelled func(Entry, error) R) []R {
	out := make([]R, len(entries))
	sem := make(chan struct{}, max(1, limit))
	var wg sync.WaitGroup
	for i, e := range entries {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			out[i] = cancelled(e, ctx.Err())
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = each(ctx, e)
		}()
	}
	wg.Wait()
	return out
}
