package awssim

import (
	"encoding/json"
	"net/http"
	"strings"
)

// ControlPrefix is the path under which the simulator answers what no AWS
// API does, on the same port as the APIs: GET /_awssim/calls lists the call
// log (filtered by ?accessKeyId=, ?userAgent= (a substring), ?service=,
// ?operation=), DELETE /_awssim/calls empties it. No AWS request uses this
// path: awsJson and CBOR requests are POSTs to / or /service/..., awsQuery
// ones carry an Action.
const ControlPrefix = "/_awssim/"

// callJSON is a Call as the control endpoint writes it.
type callJSON struct {
	Time        string `json:"time"`
	Service     string `json:"service"`
	Operation   string `json:"operation"`
	Status      int    `json:"status"`
	ErrorCode   string `json:"errorCode,omitempty"`
	AccessKeyID string `json:"accessKeyId,omitempty"`
	Region      string `json:"region,omitempty"`
	UserAgent   string `json:"userAgent,omitempty"`
	RequestID   string `json:"requestId"`
}

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimPrefix(r.URL.Path, ControlPrefix) {
	case "calls":
	case "lifecycle-hook-answers":
		s.serveHookAnswer(w, r)
		return
	default:
		http.Error(w, "unknown control path "+r.URL.Path+"; the control endpoint answers "+ControlPrefix+"calls and "+ControlPrefix+"lifecycle-hook-answers", http.StatusNotFound)
		return
	}
	switch r.Method {
	case http.MethodGet:
	case http.MethodDelete:
		s.ResetCalls()
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		w.Header().Set("Allow", "GET, DELETE")
		http.Error(w, "use GET to read the call log or DELETE to empty it", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	calls := []callJSON{}
	counts := map[string]int{}
	for _, c := range s.Calls() {
		if (q.Has("accessKeyId") && c.AccessKeyID != q.Get("accessKeyId")) ||
			(q.Get("userAgent") != "" && !strings.Contains(c.UserAgent, q.Get("userAgent"))) ||
			(q.Get("service") != "" && c.Service != q.Get("service")) ||
			(q.Get("operation") != "" && c.Operation != q.Get("operation")) {
			continue
		}
		calls = append(calls, callJSON{
			Time: c.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Service: c.Service, Operation: c.Operation, Status: c.Status,
			ErrorCode: c.ErrorCode, AccessKeyID: c.AccessKeyID, Region: c.Region, UserAgent: c.UserAgent, RequestID: c.RequestID,
		})
		counts[c.Service+":"+c.Operation]++
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(map[string]any{"calls": calls, "counts": counts})
}

// serveHookAnswer sets what a Lambda lifecycle hook of an ECS-native
// deployment answers: PUT {"functionArn": "...", "hookStatus": "FAILED"}
// ("" restores SUCCEEDED), for a sandbox driven from another process.
func (s *Server) serveHookAnswer(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		w.Header().Set("Allow", "PUT")
		http.Error(w, `use PUT with {"functionArn": "...", "hookStatus": "SUCCEEDED|FAILED|IN_PROGRESS"}`, http.StatusMethodNotAllowed)
		return
	}
	var in struct {
		FunctionARN string `json:"functionArn"`
		HookStatus  string `json:"hookStatus"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.FunctionARN == "" {
		http.Error(w, `the body must be {"functionArn": "...", "hookStatus": "..."} with a function ARN`, http.StatusBadRequest)
		return
	}
	switch in.HookStatus {
	case "", "SUCCEEDED", "FAILED", "IN_PROGRESS":
	default:
		http.Error(w, "hookStatus must be SUCCEEDED, FAILED, IN_PROGRESS or empty, not "+in.HookStatus, http.StatusBadRequest)
		return
	}
	s.world.SetLifecycleHookAnswer(in.FunctionARN, in.HookStatus)
	w.WriteHeader(http.StatusNoContent)
}
