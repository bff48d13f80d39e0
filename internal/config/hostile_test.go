package config

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/sethvargo/go-envconfig"
)

// deployFamilies are the families deploy reads, the widest set of checks.
func deployFamilies() []any {
	var out []any
	for _, f := range Families() {
		if f.Name != "sandbox" && f.Name != "development" {
			out = append(out, f.New())
		}
	}
	return out
}

// hostileSetting is one case of testdata/hostile-settings.json; "@FILE" in
// a value stands for a regular file made for the test.
type hostileSetting struct {
	Name string            `json:"name"`
	Env  map[string]string `json:"env"`
	Want []string          `json:"want"`
}

// TestHostileSettingsAreRefused loads every case over a valid deploy
// configuration: each bad variable is reported, by name, in one *Error (the
// class app maps to exit 2), and nothing else is.
func TestHostileSettingsAreRefused(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/hostile-settings.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []hostileSetting
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"AWS_REGION": "eu-west-1", "BG_CLUSTER": "prod", "BG_SERVICE": "web", "BG_IMAGE": "registry.example/web:1", "BG_OUTPUT_DIR": filepath.Join(dir, "out")}
			for k, v := range tt.Env {
				env[k] = strings.ReplaceAll(v, "@FILE", file)
			}
			err := Load(context.Background(), EmptyAsUnset(envconfig.MapLookuper(env)), deployFamilies()...)
			var got []string
			if err != nil {
				var ce *Error
				if !errors.As(err, &ce) {
					t.Fatalf("Load() = %v (%T), want *config.Error", err, err)
				}
				for _, p := range ce.Problems {
					if !slices.Contains(got, p.Var) {
						got = append(got, p.Var)
					}
				}
				if strings.ContainsFunc(err.Error(), func(r rune) bool { return r < ' ' && r != '\n' || r == 0x7f }) {
					t.Errorf("the report carries a raw control character into the log: %q", err.Error())
				}
				for _, v := range got {
					if !strings.Contains(err.Error(), v+" ") {
						t.Errorf("the report does not name %s:\n%v", v, err)
					}
				}
			}
			slices.Sort(got)
			want := slices.Clone(tt.Want)
			slices.Sort(want)
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("variables reported (-want +got):\n%s\n%v", diff, err)
			}
		})
	}
}

// TestOutputDirMustBeWritable covers the folder checks the JSON corpus
// cannot express.
func TestOutputDirMustBeWritable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if msg := writableDir(filepath.Join(dir, "new", "deeper")); msg != "" {
		t.Errorf("a folder that can be created: %s", msg)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the check left %v behind", entries)
	}
	if os.Geteuid() == 0 {
		t.Log("running as root, which writes anywhere: the read-only case is not checked")
		return
	}
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o500); err != nil {
		t.Fatal(err)
	}
	if msg := writableDir(ro); !strings.Contains(msg, "cannot be written") {
		t.Errorf("read-only folder: %q", msg)
	}
	if msg := writableDir(filepath.Join(ro, "sub")); !strings.Contains(msg, "cannot be created") {
		t.Errorf("folder under a read-only one: %q", msg)
	}
}

// TestSDKVariablesAgreeWithTheSDK holds the AWS_* checks to the SDK's own
// parser: a value is refused here exactly when config.NewEnvConfig refuses
// it (AWS_MAX_ATTEMPTS is stricter: awsclient needs at least one attempt).
// It sets process variables, so it cannot run in parallel.
func TestSDKVariablesAgreeWithTheSDK(t *testing.T) {
	values := []string{
		"true", "TRUE", "false", "False", "yes", "1", "0", "-1", "3", "10485760", "10485761", "1.5", "abc",
		"standard", "adaptive", "legacy", "auto", "in-region", "cross-region", "mobile", "fast",
		"ipv4", "IPv6", "ipv5", "preferred", "Preferred", "required", "disabled",
		"when_supported", "WHEN_REQUIRED", "always", "user_read_write", "unrestricted",
	}
	sdkValidated := map[string]bool{"AWS_EC2_METADATA_SERVICE_ENDPOINT": false, "AWS_ENDPOINT_URL": false, "AWS_CA_BUNDLE": false}
	for _, s := range sdkVars {
		if v, listed := sdkValidated[s.name]; listed && !v {
			continue // the SDK takes any string; ours is stricter on purpose
		}
		for _, v := range values {
			t.Setenv(s.name, v)
			_, err := awsconfig.NewEnvConfig()
			sdkOK, ours := err == nil, s.check(v) == ""
			switch {
			case s.name == "AWS_MAX_ATTEMPTS" && ours && !sdkOK:
				t.Errorf("%s=%q: we accept what the SDK refuses (%v)", s.name, v, err)
			case s.name != "AWS_MAX_ATTEMPTS" && ours != sdkOK:
				t.Errorf("%s=%q: ours accepts=%v, the SDK's=%v (%v)", s.name, v, ours, sdkOK, err)
			}
		}
		t.Setenv(s.name, "") // empty is unset, for the SDK and for us
	}
}

// TestAWSProfileMustExist writes a config and a credentials file and names
// profiles in them and not in them.
func TestAWSProfileMustExist(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg, creds := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	if err := os.WriteFile(cfg, []byte("[profile deploy]\nregion = eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(creds, []byte("[ci]\naws_access_key_id = AKID\naws_secret_access_key = SECRET\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		profile string
		ok      bool
	}{{"deploy", true}, {"ci", true}, {"default", true}, {"prod", false}, {"deploy ", false}} {
		var a AWS
		env := map[string]string{"AWS_REGION": "eu-west-1", "AWS_PROFILE": tt.profile, "AWS_CONFIG_FILE": cfg, "AWS_SHARED_CREDENTIALS_FILE": creds}
		err := Load(context.Background(), envconfig.MapLookuper(env), &a)
		if got := err == nil; got != tt.ok {
			t.Errorf("AWS_PROFILE=%q: %v, want ok=%v", tt.profile, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "AWS_PROFILE ") {
			t.Errorf("AWS_PROFILE=%q: the report does not name the variable: %v", tt.profile, err)
		}
	}
}
