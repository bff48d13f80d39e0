package awssim_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/smithy-go/encoding/cbor"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
)

var fuzzOps = []string{"PutMetricAlarm", "DescribeAlarms", "SetAlarmState", "DeleteAlarms", "PutMetricData"}

// FuzzServeCBOR sends arbitrary bodies down the CloudWatch CBOR path. Any
// input must get a CBOR answer: 200, or a client error whose body decodes;
// never a 5xx, which would mean the handler choked on its own input.
func FuzzServeCBOR(f *testing.F) {
	f.Add(uint8(0), cbor.Encode(cbor.Map{"AlarmName": cbor.String("a"), "Threshold": cbor.Float64(1.5), "Period": cbor.Uint(60)}))
	f.Add(uint8(1), []byte("\xbfjAlarmNames\x9fba1ba2\xff\xff"))
	f.Add(uint8(2), cbor.Encode(cbor.Map{"AlarmName": cbor.List{}, "StateValue": cbor.Uint(3)}))
	f.Add(uint8(3), cbor.Encode(cbor.Map{"AlarmNames": cbor.Map{"x": cbor.String("y")}}))
	f.Add(uint8(4), []byte{0xc1, 0xfb, 0, 0, 0, 0, 0, 0, 0, 0})
	sim := awssim.New()
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		name := fuzzOps[int(op)%len(fuzzOps)]
		req := httptest.NewRequest(http.MethodPost, "/service/GraniteServiceVersion20100801/operation/"+name, strings.NewReader(string(body)))
		req.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
		req.Header.Set("Content-Type", "application/cbor")
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s answered %d: %x", name, rec.Code, rec.Body.Bytes())
		}
		if rec.Body.Len() > 0 {
			if _, err := cbor.Decode(rec.Body.Bytes()); err != nil {
				t.Fatalf("%s answered a body that is not CBOR: %v", name, err)
			}
		}
	})
}

// FuzzServeQuery sends arbitrary forms to the awsQuery services the edge
// owns (CloudWatch and STS): the answer is XML with a 2xx, 4xx or 403, never
// a 5xx.
func FuzzServeQuery(f *testing.F) {
	f.Add("Action=PutMetricAlarm&Version=2010-08-01&AlarmName=a&Threshold=x&Period=-1")
	f.Add("Action=DescribeAlarms&Version=2010-08-01&AlarmNames.member.1=a&AlarmNames.member.x=b&StateValue=OK")
	f.Add("Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=ab&WebIdentityToken=a.eyJzdWIiOjF9.c&DurationSeconds=99999999999999999999")
	f.Add("Action=AssumeRole&Version=2011-06-15&RoleArn=x")
	f.Fuzz(func(t *testing.T, form string) {
		sim := awssim.New()
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261124/eu-west-1/sts/aws4_request, SignedHeaders=host, Signature=0")
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("answered %d: %s", rec.Code, rec.Body.String())
		}
		if !strings.HasPrefix(rec.Body.String(), "<?xml") {
			t.Fatalf("answered a body that is not XML: %s", rec.Body.String())
		}
	})
}
