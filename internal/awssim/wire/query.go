package wire

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Form is an awsQuery request: flat keys such as
// DefaultActions.member.1.ForwardConfig.TargetGroups.member.2.Weight.
type Form struct {
	url.Values
	prefix string
}

// NewForm wraps decoded form values.
func NewForm(v url.Values) Form { return Form{Values: v} }

// At is the form seen from a nested member, such as "DefaultActions.member.1.".
func (f Form) At(prefix string) Form { return Form{Values: f.Values, prefix: f.prefix + prefix} }

// String returns a member's value ("" when absent).
func (f Form) String(name string) string { return f.Get(f.prefix + name) }

// Has reports whether a member was sent (directly or as a nested prefix).
func (f Form) Has(name string) bool {
	key := f.prefix + name
	if _, ok := f.Values[key]; ok {
		return true
	}
	for k := range f.Values {
		if strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}

// Int returns a member's integer value; ok is false when absent or not a number.
func (f Form) Int(name string) (int64, bool) {
	v := f.String(name)
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// Bool returns a member's boolean value.
func (f Form) Bool(name string) (value, ok bool) {
	switch strings.ToLower(f.String(name)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// List returns the forms of a list's members in order: name.member.1,
// name.member.2, ... An empty list is sent as the bare key with no value.
func (f Form) List(name string) []Form {
	base := f.prefix + name + ".member."
	idx := map[int]bool{}
	for k := range f.Values {
		if !strings.HasPrefix(k, base) {
			continue
		}
		rest := strings.TrimPrefix(k, base)
		n, _, _ := strings.Cut(rest, ".")
		if i, err := strconv.Atoi(n); err == nil && i >= 1 {
			idx[i] = true
		}
	}
	order := make([]int, 0, len(idx))
	for i := range idx {
		order = append(order, i)
	}
	sort.Ints(order)
	out := make([]Form, 0, len(order))
	for _, i := range order {
		out = append(out, Form{Values: f.Values, prefix: base + strconv.Itoa(i) + "."})
	}
	return out
}

// Strings returns a list of scalar members: name.member.N.
func (f Form) Strings(name string) []string {
	var out []string
	for _, m := range f.List(name) {
		out = append(out, m.Get(strings.TrimSuffix(m.prefix, ".")))
	}
	return out
}

// Map returns a map member as awsQuery sends it: name.entry.N.key and
// name.entry.N.value (the model's default key and value names). Entries are
// read in index order, so a repeated key keeps the last value; an entry
// without a key is skipped.
func (f Form) Map(name string) map[string]string {
	return f.MapOf(name, "key", "value")
}

// MapOf is Map for a map whose model renames its key and value members
// (locationName), such as Attributes.entry.N.Name / .Value.
func (f Form) MapOf(name, keyName, valueName string) map[string]string {
	base := f.prefix + name + ".entry."
	idx := map[int]bool{}
	for k := range f.Values {
		rest, ok := strings.CutPrefix(k, base)
		if !ok {
			continue
		}
		n, _, _ := strings.Cut(rest, ".")
		if i, err := strconv.Atoi(n); err == nil && i >= 1 {
			idx[i] = true
		}
	}
	order := make([]int, 0, len(idx))
	for i := range idx {
		order = append(order, i)
	}
	sort.Ints(order)
	out := map[string]string{}
	for _, i := range order {
		e := base + strconv.Itoa(i) + "."
		if k, ok := f.Values[e+keyName]; ok && len(k) > 0 {
			out[k[0]] = f.Get(e + valueName)
		}
	}
	return out
}

// Tree decodes the whole form into plain values: a nested member becomes a
// map[string]any, a .member.N list a []any in index order, an .entry.N map a
// map[string]any of its keys, and a leaf its string. It serves operations
// whose handlers want the input whole (and the fuzz test: any form decodes).
func (f Form) Tree() map[string]any {
	// Keys in order, so a form that uses one name both as a leaf and as a
	// prefix ("A=1&A.B=2", never sent by an SDK) always decodes the same way.
	keys := make([]string, 0, len(f.Values))
	for k := range f.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	root := map[string]any{}
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k, f.prefix)
		if !ok || rest == "" || len(f.Values[k]) == 0 {
			continue
		}
		insert(root, strings.Split(rest, "."), f.Values[k][0])
	}
	return finish(root).(map[string]any)
}

// listNode collects the indexed elements of a .member.N list or an .entry.N
// map while the tree is built.
type listNode struct {
	entries bool
	items   map[int]map[string]any
}

func insert(node map[string]any, path []string, value string) {
	name := path[0]
	if len(path) == 1 {
		if _, taken := node[name]; !taken {
			node[name] = value
		}
		return
	}
	if (path[1] == "member" || path[1] == "entry") && len(path) >= 3 {
		i, err := strconv.Atoi(path[2])
		if err != nil || i < 1 {
			return
		}
		l, ok := node[name].(*listNode)
		if !ok {
			l = &listNode{entries: path[1] == "entry", items: map[int]map[string]any{}}
			node[name] = l
		}
		item := l.items[i]
		if item == nil {
			item = map[string]any{}
			l.items[i] = item
		}
		if len(path) == 3 {
			item[""] = value // a scalar list member
			return
		}
		insert(item, path[3:], value)
		return
	}
	child, ok := node[name].(map[string]any)
	if !ok {
		child = map[string]any{}
		node[name] = child
	}
	insert(child, path[1:], value)
}

func finish(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = finish(e)
		}
		return x
	case *listNode:
		order := make([]int, 0, len(x.items))
		for i := range x.items {
			order = append(order, i)
		}
		sort.Ints(order)
		if x.entries {
			m := map[string]any{}
			for _, i := range order {
				item := x.items[i]
				if k, ok := item["key"].(string); ok {
					m[k] = finish(item["value"])
				}
			}
			return m
		}
		list := make([]any, 0, len(order))
		for _, i := range order {
			item := x.items[i]
			if s, ok := item[""].(string); ok && len(item) == 1 {
				list = append(list, s)
				continue
			}
			delete(item, "")
			list = append(list, finish(item))
		}
		return list
	}
	return v
}

// WriteXML writes an awsQuery response: <OpResponse xmlns=ns><OpResult>result
// </OpResult><ResponseMetadata><RequestId>id</RequestId></ResponseMetadata>.
func WriteXML(w http.ResponseWriter, ns, op, requestID string, result any) {
	type metadata struct {
		RequestID string `xml:"RequestId"`
	}
	var b strings.Builder
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	root := xml.StartElement{Name: xml.Name{Local: op + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: ns}}}
	err := enc.EncodeToken(root)
	if err == nil && result != nil {
		err = enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: op + "Result"}})
	}
	if err == nil {
		err = enc.EncodeElement(metadata{RequestID: requestID}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}})
	}
	if err == nil {
		err = enc.EncodeToken(root.End())
	}
	if err == nil {
		err = enc.Flush()
	}
	if err != nil {
		WriteXMLError(w, ns, requestID, ServerError("InternalFailure", "encoding the response: %v", err))
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(b.String()))
}

// WriteXMLError writes the awsQuery error document with the query code.
func WriteXMLError(w http.ResponseWriter, ns, requestID string, e *Error) {
	type xmlErr struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	type doc struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		NS        string   `xml:"xmlns,attr"`
		Error     xmlErr   `xml:"Error"`
		RequestID string   `xml:"RequestId"`
	}
	b, _ := xml.Marshal(doc{NS: ns, Error: xmlErr{Type: e.Fault(), Code: e.QueryCode(), Message: e.Message}, RequestID: requestID})
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(e.HTTPStatus())
	_, _ = w.Write(append([]byte(xml.Header), b...))
}
