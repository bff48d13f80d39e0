package awssim_test

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/testutil"
)

// coverageServices are the simulated services with the botocore model
// directory, signing name and how the simulator is reached.
var coverageServices = []struct {
	model, signing, target, version string // target: awsJson prefix; version: awsQuery Version
}{
	{model: "codedeploy", signing: "codedeploy", target: "CodeDeploy_20141006"},
	{model: "ecs", signing: "ecs", target: "AmazonEC2ContainerServiceV20141113"},
	{model: "ecr", signing: "ecr", target: "AmazonEC2ContainerRegistry_V20150921"},
	{model: "elbv2", signing: "elasticloadbalancing", version: "2015-12-01"},
	{model: "cloudwatch", signing: "monitoring", version: "2010-08-01"},
	{model: "sts", signing: "sts", version: "2011-06-15"},
}

// botocoreData finds the botocore models of the pip-installed AWS CLI.
func botocoreData(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import botocore,os;print(os.path.dirname(botocore.__file__))").Output()
	if err != nil {
		testutil.MissingPeer(t, "botocore (pip awscli) is not installed, so there are no models to count against")
	}
	return filepath.Join(strings.TrimSpace(string(out)), "data")
}

func modelOperations(t *testing.T, data, service string) []string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(data, service, "*", "service-2.json*"))
	if len(matches) == 0 {
		t.Fatalf("no botocore model for %s under %s", service, data)
	}
	sort.Strings(matches)
	f, err := os.Open(matches[len(matches)-1])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(f.Name(), ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = gz
	}
	var m struct {
		Operations map[string]json.RawMessage `json:"operations"`
	}
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		t.Fatal(err)
	}
	ops := make([]string, 0, len(m.Operations))
	for op := range m.Operations {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}

// implemented asks the simulator for op with an empty input: any answer
// but "unknown operation" means its dispatch has the operation (an empty
// input mostly earns a validation error, which is an answer).
func implemented(t *testing.T, url, signing, target, version, op string) bool {
	t.Helper()
	var req *http.Request
	if target != "" {
		req, _ = http.NewRequest(http.MethodPost, url+"/", strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", target+"."+op)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	} else {
		req, _ = http.NewRequest(http.MethodPost, url+"/", strings.NewReader("Action="+op+"&Version="+version))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261124/eu-west-1/"+signing+"/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return !strings.Contains(string(body), "does not implement") && !strings.Contains(string(body), "UnknownOperationException") && !strings.Contains(string(body), "<Code>InvalidAction</Code>")
}

// TestOperationCoverage counts, per service, the operations of the botocore
// models on the machine that the simulator answers, and prints the table:
//
//	go test -run TestOperationCoverage -v ./internal/awssim
func TestOperationCoverage(t *testing.T) {
	t.Parallel()
	data := botocoreData(t)
	srv := httptest.NewServer(awssim.New())
	t.Cleanup(srv.Close)
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-12s %11s %6s\n", "service", "implemented", "model")
	done, total := 0, 0
	for _, s := range coverageServices {
		ops := modelOperations(t, data, s.model)
		n := 0
		var have []string
		for _, op := range ops {
			if implemented(t, srv.URL, s.signing, s.target, s.version, op) {
				n++
				have = append(have, op)
			}
		}
		if n == 0 {
			t.Errorf("%s: no operation answered; is the routing of the probe right?", s.model)
		}
		fmt.Fprintf(&table, "%-12s %11d %6d   %s\n", s.model, n, len(ops), strings.Join(have, " "))
		done, total = done+n, total+len(ops)
	}
	fmt.Fprintf(&table, "%-12s %11d %6d\n", "all", done, total)
	t.Log(table.String())
}
