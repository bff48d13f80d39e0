package render

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// hostileCase is one file of testdata/hostile and what refusing it must
// say: the file, the line and the member, and a word of why.
type hostileCase struct {
	file   string
	line   int
	member string
	want   string
}

// HostileInputs is the corpus shared with internal/app's integration test,
// which checks that deploy refuses each file with exit 2 and no call that
// changes AWS.
var hostileTaskDefs = []hostileCase{
	{"td-duplicate-top.json", 3, "family", "given twice (first on line 2)"},
	{"td-duplicate-nested.json", 7, "containerDefinitions[0].image", "given twice (first on line 6)"},
	{"td-duplicate-deep.json", 11, "containerDefinitions[0].logConfiguration.options.awslogs-group", "given twice"},
	{"td-map-key-twice-labels.json", 5, "containerDefinitions[0].dockerLabels.com.example.tier", "given twice"},
	{"td-describe-duplicate.json", 6, "taskDefinition.cpu", "given twice"},
	{"td-describe-taskdefinition-twice.json", 3, "taskDefinition", "given twice"},
	{"td-case-variant-beside.json", 7, "containerDefinitions[0].Image", `did you mean "image"?`},
	{"td-case-variant-alone.json", 6, "containerDefinitions[0].Image", `did you mean "image"?`},
	{"td-case-variant-top.json", 2, "Family", `did you mean "family"?`},
	{"td-unknown-member-deep.json", 8, "containerDefinitions[0].portMappings[0].hostPortt", `unknown member "hostPortt"`},
	{"td-duplicate-container-names.json", 5, "containerDefinitions[1].name", `container name "web" is used twice`},
	{"td-nul-family.json", 2, "family", "NUL character"},
	{"td-nul-in-value.json", 5, "containerDefinitions[0].environment[0].value", "NUL character"},
	{"td-nul-member-name.json", 4, "", `member name "cpu\x00" holds a NUL character`},
	{"td-escape-family.json", 2, "family", `"web\x1b[2J" is not a valid ECS name`},
	{"td-newline-container-name.json", 4, "containerDefinitions[0].name", `"web\nerror: forged log line" is not a valid ECS name`},
	{"td-volume-name-space.json", 5, "volumes[0].name", "is not a valid ECS name"},
	{"td-family-too-long.json", 2, "family", "up to 255 letters"},
	{"td-family-slash.json", 2, "family", "is not a valid ECS name"},
	{"td-deep-nesting.json", 4, "tags", "nests deeper than 64 levels"},
	{"td-two-documents.json", 2, "", "extra data after the JSON document"},
	{"td-trailing-garbage.json", 2, "", "extra data after the JSON document"},
	{"td-tags-inside-and-beside.json", 7, "tags", "both inside taskDefinition and beside it"},
}

var hostileAppSpecs = []hostileCase{
	{"as-unknown-under-properties.yml", 10, "Resources[0].TargetService.Properties.AutoRollback", `unknown member "AutoRollback"`},
	{"as-unknown-under-loadbalancer.yml", 10, "Resources[0].TargetService.Properties.LoadBalancerInfo.TargetGroup", `unknown member "TargetGroup"`},
	{"as-unknown-in-resource.yml", 5, "Resources[0].TargetService.Condition", `unknown member "Condition"`},
	{"as-unknown-in-network.yml", 12, "Resources[0].TargetService.Properties.NetworkConfiguration.AwsvpcConfiguration.Subnet", `unknown member "Subnet"`},
	{"as-unknown-in-capacity.yml", 12, "Resources[0].TargetService.Properties.CapacityProviderStrategy[0].Weigth", `unknown member "Weigth"`},
	{"as-unknown-section.yml", 10, "Files", `unknown member "Files"`},
	{"as-case-variant.yml", 8, "Resources[0].TargetService.Properties.LoadBalancerInfo.containerName", `did you mean "ContainerName"?`},
	{"as-lowercase-resources.yml", 2, "resources", `did you mean "Resources"?`},
	{"as-two-documents.yml", 11, "", "second YAML document"},
	{"as-duplicate-top.yml", 10, "version", "given twice (first on line 1)"},
	{"as-duplicate-under-properties.yml", 7, "Resources[0].TargetService.Properties.TaskDefinition", "given twice (first on line 6)"},
	{"as-duplicate-in-json.json", 6, "Resources[0].TargetService.Properties.LoadBalancerInfo.ContainerPort", "given twice"},
	{"as-anchor-alias.yml", 8, "Resources[0].TargetService.Properties.LoadBalancerInfo.ContainerName", "YAML anchor"},
	{"as-merge-key.yml", 8, "Resources[0].TargetService.Properties.LoadBalancerInfo", "merge key"},
	{"as-hook-not-a-name.yml", 12, "Hooks[0].AfterAllowTestTraffic", "must be a single value"},
}

// readHostile reads and parses one corpus file the way deploy does: the
// task definition up to SetImage (its last check), the AppSpec up to parse.
func readHostile(path string) error {
	if strings.HasPrefix(filepath.Base(path), "td-") {
		td, err := ReadTaskDef(path)
		if err != nil {
			return err
		}
		_, err = td.SetImage(newImage, ImageRule{})
		return err
	}
	data, err := ReadFile(path)
	if err != nil {
		return err
	}
	_, err = ParseAppSpec(data, path)
	return err
}

func TestHostileInputsAreRefused(t *testing.T) {
	t.Parallel()
	all := append(append([]hostileCase(nil), hostileTaskDefs...), hostileAppSpecs...)
	files, _ := filepath.Glob("testdata/hostile/*")
	if len(files) != len(all) {
		t.Errorf("testdata/hostile has %d files, the table %d: every file needs its expectation", len(files), len(all))
	}
	for _, tt := range all {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("testdata", "hostile", tt.file)
			err := readHostile(path)
			checkRefusal(t, err, path, tt)
		})
	}
}

// checkRefusal asserts a *FieldError (the input-error class app maps to
// exit 2) whose first line names file, line and member.
func checkRefusal(t *testing.T, err error, path string, tt hostileCase) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v (%T), want a *FieldError", err, err)
	}
	loc := path
	if tt.line > 0 {
		loc += ":" + strconv.Itoa(tt.line)
	}
	if tt.member != "" {
		loc += ": " + printable(tt.member)
	}
	first, _, _ := strings.Cut(err.Error(), "\n")
	if !strings.HasPrefix(first, loc+":") && first != loc {
		t.Errorf("error does not start with %q:\n%v", loc, err)
	}
	if !strings.Contains(err.Error(), printable(tt.want)) && !strings.Contains(err.Error(), tt.want) {
		t.Errorf("error lacks %q:\n%v", tt.want, err)
	}
	if strings.ContainsFunc(err.Error(), func(r rune) bool { return r < ' ' && r != '\n' || r == 0x7f }) {
		t.Errorf("error carries a raw control character into the log: %q", err.Error())
	}
}

// TestHugeInputsAreRefusedBeforeReading gives ReadFile files far above
// MaxFileSize: 300 MB (sparse, so the test costs no disk) is refused from
// its size alone, and 2 MiB of real whitespace or comment too.
func TestHugeInputsAreRefusedBeforeReading(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sparse := func(name string, head []byte, size int64) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, head, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
		return path
	}
	real := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tt := range []struct{ name, path, want string }{
		{"taskdef_300MB_whitespace", sparse("taskdef.json", []byte("{}"+strings.Repeat(" ", 4096)), 300<<20), "is 300.0 MiB"},
		{"appspec_300MB_comment", sparse("appspec.yml", []byte("version: 0.0\n# "), 300<<20), "is 300.0 MiB"},
		{"taskdef_2MiB_whitespace", real("ws.json", append([]byte(`{"family":"web"}`), bytes.Repeat([]byte(" \n\t"), 700_000)...)), "is 2.0 MiB"},
		{"appspec_2MiB_comment", real("comment.yml", append([]byte("version: 0.0\n#"), bytes.Repeat([]byte("x"), 2<<20)...)), "is 2.0 MiB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ReadFile(tt.path)
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "at most 1.0 MiB") {
				t.Errorf("ReadFile(%s) = %v, want a *FieldError saying %q and the limit", tt.path, err, tt.want)
			}
		})
	}
	// Not a file at all.
	if _, err := ReadFile(dir); err == nil || !strings.Contains(err.Error(), "is a folder") {
		t.Errorf("ReadFile(a folder) = %v", err)
	}
	if _, err := ReadFile("/dev/zero"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("ReadFile(/dev/zero) = %v", err)
	}
	// Deeply nested YAML is refused by the parser, not by the stack.
	if _, err := ParseAppSpec(bytes.Repeat([]byte("["), 20000), "appspec.yml"); err == nil {
		t.Error("20000 nested YAML lists were accepted")
	}
}
