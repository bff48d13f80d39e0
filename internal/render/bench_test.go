package render

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"
)

// bigTaskDef is a valid task definition of about size bytes, indented as
// people write them: one container whose environment grows until the file
// is big enough, so every byte goes through the member-by-member checks.
func bigTaskDef(size int) []byte {
	var b bytes.Buffer
	b.WriteString("{\n  \"family\": \"web\",\n  \"containerDefinitions\": [\n    {\n      \"name\": \"web\",\n      \"image\": \"<IMAGE1_NAME>\",\n      \"environment\": [\n")
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "        {\"name\": \"VAR_%d\", \"value\": \"%s\"}", i, strconv.Itoa(i*7919))
	}
	b.WriteString("\n      ]\n    }\n  ]\n}\n")
	return b.Bytes()
}

// BenchmarkParseTaskDef prints the time to parse 1, 4 and 16 MB task
// definitions (ns/op and MB/s): linear parsing keeps MB/s level across the
// sizes. Run: go test -run '^$' -bench ParseTaskDef -benchtime=3x ./internal/render
func BenchmarkParseTaskDef(b *testing.B) {
	for _, mb := range []int{1, 4, 16} {
		data := bigTaskDef(mb << 20)
		b.Run(strconv.Itoa(mb)+"MB", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := ParseTaskDef(data, "taskdef.json"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
