package awssim

import (
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Listener rules as an ALB evaluates them: the rules of a listener in
// priority order, the first whose conditions all match routes the request,
// and the default action takes what no rule matched. Within one condition
// any value may match; every condition of a rule must.

// ruleCondition is one RuleCondition as sent, with its values normalised
// into the per-field config AWS echoes back next to the legacy Values.
type ruleCondition struct {
	field string
	// legacy are the top-level Values, kept so they are echoed as sent.
	legacy     []string
	values     []string // host-header, path-pattern, http-request-method, source-ip
	headerName string   // http-header
	query      []queryPair
}

type queryPair struct {
	Key   string `xml:"Key,omitempty"`
	Value string `xml:"Value"`
}

// XML shape of a RuleCondition.
type (
	xmlValues struct {
		Values []string `xml:"Values>member"`
	}
	xmlHeaderConfig struct {
		HTTPHeaderName string   `xml:"HttpHeaderName"`
		Values         []string `xml:"Values>member"`
	}
	xmlQueryConfig struct {
		Values []queryPair `xml:"Values>member"`
	}
	xmlCondition struct {
		Field             string           `xml:"Field"`
		Values            []string         `xml:"Values>member,omitempty"`
		HostHeaderConfig  *xmlValues       `xml:"HostHeaderConfig,omitempty"`
		PathPatternConfig *xmlValues       `xml:"PathPatternConfig,omitempty"`
		HTTPHeaderConfig  *xmlHeaderConfig `xml:"HttpHeaderConfig,omitempty"`
		QueryStringConfig *xmlQueryConfig  `xml:"QueryStringConfig,omitempty"`
		MethodConfig      *xmlValues       `xml:"HttpRequestMethodConfig,omitempty"`
		SourceIPConfig    *xmlValues       `xml:"SourceIpConfig,omitempty"`
	}
)

// maxConditionValues is the ALB quota on condition values per rule.
const maxConditionValues = 5

// parseConditions reads Conditions.member.N as CreateRule and ModifyRule
// take them, with the model's validation.
func parseConditions(forms []formT) ([]ruleCondition, error) {
	var out []ruleCondition
	total := 0
	seen := map[string]bool{}
	for _, c := range forms {
		rc := ruleCondition{field: c.String("Field"), legacy: c.Strings("Values")}
		switch rc.field {
		case "host-header":
			rc.values = append(rc.legacy, c.Strings("HostHeaderConfig.Values")...)
		case "path-pattern":
			rc.values = append(rc.legacy, c.Strings("PathPatternConfig.Values")...)
		case "http-request-method":
			rc.values = c.Strings("HttpRequestMethodConfig.Values")
		case "source-ip":
			rc.values = c.Strings("SourceIpConfig.Values")
			for _, v := range rc.values {
				if _, _, err := net.ParseCIDR(v); err != nil {
					return nil, elbErr("ValidationError", "The source IP '%s' is not a valid CIDR block", v)
				}
			}
		case "http-header":
			rc.headerName = c.String("HttpHeaderConfig.HttpHeaderName")
			rc.values = c.Strings("HttpHeaderConfig.Values")
			if rc.headerName == "" {
				return nil, elbErr("ValidationError", "An http-header condition needs HttpHeaderConfig.HttpHeaderName")
			}
		case "query-string":
			for _, p := range c.List("QueryStringConfig.Values") {
				rc.query = append(rc.query, queryPair{Key: p.String("Key"), Value: p.String("Value")})
			}
			if len(rc.query) == 0 {
				return nil, elbErr("ValidationError", "A query-string condition needs QueryStringConfig.Values")
			}
		case "":
			return nil, elbErr("ValidationError", "A condition field must be specified")
		default:
			return nil, elbErr("ValidationError", "Condition field '%s' must be one of '[http-header, http-request-method, host-header, path-pattern, query-string, source-ip]'", rc.field)
		}
		if rc.field != "query-string" && len(rc.values) == 0 {
			return nil, elbErr("ValidationError", "A condition value must be specified for '%s'", rc.field)
		}
		// Only http-header may appear twice (for different headers).
		key := rc.field
		if rc.field == "http-header" {
			key += ":" + strings.ToLower(rc.headerName)
		}
		if seen[key] {
			return nil, elbErr("ValidationError", "A rule can only have one '%s' condition", rc.field)
		}
		seen[key] = true
		total += len(rc.values) + len(rc.query)
		out = append(out, rc)
	}
	if total > maxConditionValues {
		return nil, elbErr("TooManyConditionValues", "A rule can only have '%d' condition values", maxConditionValues)
	}
	return out, nil
}

func conditionsOut(cs []ruleCondition) []xmlCondition {
	out := []xmlCondition{}
	for _, c := range cs {
		x := xmlCondition{Field: c.field, Values: c.legacy}
		switch c.field {
		case "host-header":
			x.HostHeaderConfig = &xmlValues{Values: c.values}
		case "path-pattern":
			x.PathPatternConfig = &xmlValues{Values: c.values}
		case "http-request-method":
			x.MethodConfig = &xmlValues{Values: c.values}
		case "source-ip":
			x.SourceIPConfig = &xmlValues{Values: c.values}
		case "http-header":
			x.HTTPHeaderConfig = &xmlHeaderConfig{HTTPHeaderName: c.headerName, Values: c.values}
		case "query-string":
			x.QueryStringConfig = &xmlQueryConfig{Values: c.query}
		}
		out = append(out, x)
	}
	return out
}

// matches tells whether the request meets the condition, with the ALB's
// matching rules: host names, header values and query strings compare
// without case, paths and methods with case; * and ? are wildcards.
func (c ruleCondition) matches(r *http.Request) bool {
	switch c.field {
	case "host-header":
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		return anyMatch(c.values, strings.ToLower(host), true)
	case "path-pattern":
		return anyMatch(c.values, r.URL.Path, false)
	case "http-request-method":
		for _, m := range c.values {
			if m == r.Method {
				return true
			}
		}
		return false
	case "source-ip":
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		ip := net.ParseIP(host)
		for _, v := range c.values {
			if _, n, err := net.ParseCIDR(v); err == nil && ip != nil && n.Contains(ip) {
				return true
			}
		}
		return false
	case "http-header":
		for _, v := range r.Header.Values(c.headerName) {
			if anyMatch(c.values, strings.ToLower(v), true) {
				return true
			}
		}
		return false
	case "query-string":
		q := r.URL.Query()
		for _, p := range c.query {
			for k, vs := range q {
				if p.Key != "" && !wildcard(strings.ToLower(p.Key), strings.ToLower(k)) {
					continue
				}
				for _, v := range vs {
					if wildcard(strings.ToLower(p.Value), strings.ToLower(v)) {
						return true
					}
				}
			}
		}
		return false
	}
	return false
}

func anyMatch(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			p = strings.ToLower(p)
		}
		if wildcard(p, s) {
			return true
		}
	}
	return false
}

// wildcard matches s against an ALB pattern: * any run of characters
// (including /), ? exactly one.
func wildcard(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == s
	}
	// Not path.Match: it treats / specially and knows [..] classes, and ALB
	// patterns do neither.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		// A star first: a "*" in the text is a character like any other,
		// never the pattern's star matched as a letter.
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// rulesOf are a listener's rules in priority order.
func (w *World) rulesOf(listenerARN string) []*rule {
	var out []*rule
	for _, r := range w.rules {
		if r.ListenerARN == listenerARN {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.Atoi(out[i].Priority)
		b, _ := strconv.Atoi(out[j].Priority)
		return a < b
	})
	return out
}

// routeActions are the actions that take a request on the listener: the
// first matching rule's, else the default actions.
func (w *World) routeActions(l *listener, r *http.Request) []action {
	for _, ru := range w.rulesOf(l.ARN) {
		ok := true
		for _, c := range ru.conditions {
			if !c.matches(r) {
				ok = false
				break
			}
		}
		if ok {
			return ru.actions
		}
	}
	return l.actions
}

// finalAction is the action that answers: authenticate actions come first
// in Order and only let the request on.
func finalAction(as []action) (action, bool) {
	if len(as) == 0 {
		return action{}, false
	}
	sorted := append([]action(nil), as...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Order < sorted[j].Order })
	return sorted[len(sorted)-1], true
}

// XML shapes of the fixed-response and redirect configs.
type (
	xmlFixed struct {
		StatusCode  string `xml:"StatusCode"`
		ContentType string `xml:"ContentType,omitempty"`
		MessageBody string `xml:"MessageBody,omitempty"`
	}
	xmlRedirect struct {
		Protocol   string `xml:"Protocol,omitempty"`
		Port       string `xml:"Port,omitempty"`
		Host       string `xml:"Host,omitempty"`
		Path       string `xml:"Path,omitempty"`
		Query      string `xml:"Query,omitempty"`
		StatusCode string `xml:"StatusCode"`
	}
)

func checkFixed(a action) error {
	if n, err := strconv.Atoi(a.FixedStatus); err != nil || n < 200 || n > 599 || strings.HasPrefix(a.FixedStatus, "3") {
		return elbErr("ValidationError", "Fixed-response status code '%s' must be 2XX, 4XX or 5XX", a.FixedStatus)
	}
	switch a.FixedType {
	case "", "text/plain", "text/css", "text/html", "application/javascript", "application/json":
	default:
		return elbErr("ValidationError", "Fixed-response content type '%s' is not one of text/plain, text/css, text/html, application/javascript, application/json", a.FixedType)
	}
	if len(a.FixedBody) > 1024 {
		return elbErr("ValidationError", "A fixed-response message body is at most 1024 characters")
	}
	return nil
}

func parseRedirect(f formT) (*xmlRedirect, error) {
	r := &xmlRedirect{
		Protocol: f.String("Protocol"), Port: f.String("Port"), Host: f.String("Host"), Path: f.String("Path"),
		Query: f.String("Query"), StatusCode: f.String("StatusCode"),
	}
	if r.StatusCode != "HTTP_301" && r.StatusCode != "HTTP_302" {
		return nil, elbErr("ValidationError", "Redirect status code must be HTTP_301 or HTTP_302")
	}
	// AWS fills in the defaults, which keep the request's own parts.
	for _, d := range []struct {
		p   *string
		def string
	}{{&r.Protocol, "#{protocol}"}, {&r.Port, "#{port}"}, {&r.Host, "#{host}"}, {&r.Path, "/#{path}"}, {&r.Query, "#{query}"}} {
		if *d.p == "" {
			*d.p = d.def
		}
	}
	return r, nil
}

// fixedResponse is a body the data plane writes as it is, with its type.
type fixedResponse struct{ contentType, body string }

func (f fixedResponse) write(rw http.ResponseWriter, status int) {
	if f.contentType != "" {
		rw.Header().Set("Content-Type", f.contentType)
	}
	rw.WriteHeader(status)
	_, _ = rw.Write([]byte(f.body))
}

func (a action) fixed(*http.Request) (int, any) {
	n, _ := strconv.Atoi(a.FixedStatus)
	if n == 0 {
		n = http.StatusNotFound
	}
	return n, fixedResponse{contentType: a.FixedType, body: a.FixedBody}
}

// redirect answers with the Location the config makes of the request.
func (a action) redirect(r *http.Request) (int, any) {
	c := a.Redirect
	if c == nil {
		return http.StatusInternalServerError, fixedResponse{body: "redirect without a config"}
	}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		host, port = r.Host, "80"
	}
	repl := strings.NewReplacer("#{protocol}", "http", "#{host}", host, "#{port}", port, "#{path}", strings.TrimPrefix(r.URL.Path, "/"), "#{query}", r.URL.RawQuery)
	proto := strings.ToLower(repl.Replace(c.Protocol))
	loc := proto + "://" + repl.Replace(c.Host) + ":" + repl.Replace(c.Port) + repl.Replace(c.Path)
	if q := repl.Replace(c.Query); q != "" {
		loc += "?" + q
	}
	status := http.StatusMovedPermanently
	if c.StatusCode == "HTTP_302" {
		status = http.StatusFound
	}
	return status, redirectTo(loc)
}

// redirectTo is a Location for the data plane to send.
type redirectTo string
