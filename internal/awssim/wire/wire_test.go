package wire

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
	"github.com/google/go-cmp/cmp"
)

func TestFormLists(t *testing.T) {
	t.Parallel()
	v, _ := url.ParseQuery("Action=ModifyListener&DefaultActions.member.1.Type=forward" +
		"&DefaultActions.member.1.ForwardConfig.TargetGroups.member.2.TargetGroupArn=tg2" +
		"&DefaultActions.member.1.ForwardConfig.TargetGroups.member.2.Weight=10" +
		"&DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=tg1" +
		"&DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.Weight=90" +
		"&DefaultActions.member.1.ForwardConfig.TargetGroupStickinessConfig.Enabled=false" +
		"&Names.member.1=a&Names.member.10=c&Names.member.2=b")
	f := NewForm(v)
	actions := f.List("DefaultActions")
	if len(actions) != 1 || actions[0].String("Type") != "forward" {
		t.Fatalf("actions = %+v", actions)
	}
	var got []string
	for _, tg := range actions[0].List("ForwardConfig.TargetGroups") {
		w, _ := tg.Int("Weight")
		got = append(got, fmt.Sprintf("%s=%d", tg.String("TargetGroupArn"), w))
	}
	if diff := cmp.Diff([]string{"tg1=90", "tg2=10"}, got); diff != "" {
		t.Errorf("target groups in member order (-want +got):\n%s", diff)
	}
	if b, ok := actions[0].Bool("ForwardConfig.TargetGroupStickinessConfig.Enabled"); !ok || b {
		t.Errorf("stickiness = %v, %v", b, ok)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, f.Strings("Names")); diff != "" {
		t.Errorf("Strings orders members numerically (-want +got):\n%s", diff)
	}
	if !f.Has("DefaultActions") || f.Has("Tags") {
		t.Error("Has() is wrong")
	}
}

func TestCBORRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 24, 16, 0, 0, 500_000_000, time.UTC)
	enc := cbor.Encode(EncodeCBOR(map[string]any{"AlarmNames": []string{"a1", "a2"}, "When": at, "N": 3, "F": 1.5, "Ok": true}))
	got, err := DecodeCBOR(enc)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"AlarmNames": []any{"a1", "a2"}, "When": at, "N": float64(3), "F": 1.5, "Ok": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// Indefinite-length map and list, as the Go SDK sends them (aws-facts §1.4).
	indefinite := []byte{0xbf, 0x6a, 'A', 'l', 'a', 'r', 'm', 'N', 'a', 'm', 'e', 's', 0x9f, 0x62, 'a', '1', 0xff, 0xff}
	got, err = DecodeCBOR(indefinite)
	if err != nil || cmp.Diff(map[string]any{"AlarmNames": []any{"a1"}}, got) != "" {
		t.Errorf("indefinite-length input = %v, %v", got, err)
	}
}

func TestErrorsPerProtocol(t *testing.T) {
	t.Parallel()
	e := (&Error{Type: "InvalidFormatFault", Message: "bad"}).WithCode("InvalidFormat")
	rec := httptest.NewRecorder()
	WriteXMLError(rec, "ns", "rid", e)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "<Code>InvalidFormat</Code>") || !strings.Contains(rec.Body.String(), "<Type>Sender</Type>") {
		t.Errorf("query error = %d %s", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	WriteJSONError(rec, "application/x-amz-json-1.1", "rid", ServerError("ServerException", "boom"))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"__type":"ServerException"`) {
		t.Errorf("json error = %d %s", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	WriteCBORError(rec, "rid", "com.amazonaws.cloudwatch", e)
	if got := rec.Header().Get("X-Amzn-Query-Error"); got != "InvalidFormat;Sender" {
		t.Errorf("x-amzn-query-error = %q", got)
	}
}

func TestFormMapsAndTree(t *testing.T) {
	t.Parallel()
	v, _ := url.ParseQuery("Action=X&Version=1" +
		"&Attributes.entry.2.key=b&Attributes.entry.2.value=2" +
		"&Attributes.entry.1.key=a&Attributes.entry.1.value=1" +
		"&Attributes.entry.3.value=orphan" +
		"&Renamed.entry.1.Name=n&Renamed.entry.1.Value=v" +
		"&Names.member.10=c&Names.member.2=b&Names.member.1=a" +
		"&Actions.member.1.Type=forward&Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight=90" +
		"&Actions.member.1.ForwardConfig.TargetGroups.member.2.Weight=10" +
		"&Tags.member.1.Key=k&Tags.member.1.Value=v&Empty=")
	f := NewForm(v)
	if diff := cmp.Diff(map[string]string{"a": "1", "b": "2"}, f.Map("Attributes")); diff != "" {
		t.Errorf("Map (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"n": "v"}, f.MapOf("Renamed", "Name", "Value")); diff != "" {
		t.Errorf("MapOf (-want +got):\n%s", diff)
	}
	want := map[string]any{
		"Action": "X", "Version": "1", "Empty": "",
		"Attributes": map[string]any{"a": "1", "b": "2"},
		"Renamed":    map[string]any{},
		"Names":      []any{"a", "b", "c"},
		"Actions": []any{map[string]any{
			"Type":          "forward",
			"ForwardConfig": map[string]any{"TargetGroups": []any{map[string]any{"Weight": "90"}, map[string]any{"Weight": "10"}}},
		}},
		"Tags": []any{map[string]any{"Key": "k", "Value": "v"}},
	}
	if diff := cmp.Diff(want, f.Tree()); diff != "" {
		t.Errorf("Tree (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"Type": "forward", "ForwardConfig": want["Actions"].([]any)[0].(map[string]any)["ForwardConfig"]}, f.List("Actions")[0].Tree()); diff != "" {
		t.Errorf("Tree of a nested form (-want +got):\n%s", diff)
	}
}

// FuzzForm feeds arbitrary query strings to the awsQuery decoder. Seeds are
// in testdata/fuzz/FuzzForm as well as below. Beyond not panicking, the list
// view and the tree view must agree on how many members a list has.
func FuzzForm(f *testing.F) {
	f.Add("Action=X&A.member.1.B.member.2.C=1&A.member.1.B.member.1.C=2")
	f.Add("A.member.0=x&A.member.-1=y&A.member.99999999999999999999=z")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		form := NewForm(v)
		for _, m := range form.List("A") {
			_ = m.List("B")
			_ = m.Strings("B")
			_, _ = m.Int("C")
			_ = m.Map("E")
		}
		tree := form.Tree()
		if l, ok := tree["A"].([]any); ok && len(l) != len(form.List("A")) {
			t.Errorf("Tree has %d members of A, List %d", len(l), len(form.List("A")))
		}
		_ = form.Map("A")
	})
}

func FuzzDecodeCBOR(f *testing.F) {
	f.Add(cbor.Encode(cbor.Map{"AlarmNames": cbor.List{cbor.String("a")}}))
	f.Add([]byte{0xbf, 0x9f, 0xff})
	f.Add([]byte{0xc1, 0xfb, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeCBOR(b) // must not panic
	})
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add(`{"deploymentId":"d-1"}`)
	f.Add(`{"deploymentId":1}`)
	f.Fuzz(func(t *testing.T, s string) {
		var v struct {
			DeploymentID string `json:"deploymentId"`
		}
		if err := DecodeJSON([]byte(s), &v); err != nil && AsError(err).Type != "SerializationException" {
			t.Errorf("error %v is not a SerializationException", err)
		}
	})
}
