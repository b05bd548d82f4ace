package graphtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// User is a user resource of the fake tenant, with the properties sspr
// reads (Graph's names and JSON shapes).
type User struct {
	ID                    string `json:"id"`
	UserPrincipalName     string `json:"userPrincipalName"`
	Mail                  string `json:"mail"`
	DisplayName           string `json:"displayName"`
	MobilePhone           string `json:"mobilePhone"`
	AccountEnabled        bool   `json:"accountEnabled"`
	OnPremisesSyncEnabled bool   `json:"onPremisesSyncEnabled"`
}

// AddDirectoryUser creates a user that lookups find; its id (random when
// empty) is returned and also accepted by PATCH, like its UPN.
func (s *Server) AddDirectoryUser(u User) string {
	if u.ID == "" {
		r := randHex(16)
		u.ID = r[:8] + "-" + r[8:12] + "-" + r[12:16] + "-" + r[16:20] + "-" + r[20:]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = append(s.users, &u)
	s.passwords[strings.ToLower(u.ID)] = ""
	return u.ID
}

// Lookups counts the GET requests on /v1.0/users (lists and single users).
func (s *Server) Lookups() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookups
}

// authorized checks the bearer token; the caller holds s.mu.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if _, known := s.tokens[tok]; !ok || !known {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty or invalid.")
		return false
	}
	return true
}

// scripted answers with the next scripted reply, if any; s.mu is held.
func (s *Server) scripted(w http.ResponseWriter) bool {
	if len(s.script) == 0 {
		return false
	}
	rep := s.script[0]
	s.script = s.script[1:]
	if rep.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(rep.RetryAfter))
	}
	graphError(w, rep.Status, rep.Code, "Scripted answer.")
	return true
}

// render returns u as Graph does with $select: only the named properties
// (all of the above without one); id always.
func render(u *User, sel string) map[string]any {
	all := map[string]any{"id": u.ID, "userPrincipalName": u.UserPrincipalName, "mail": nullable(u.Mail),
		"displayName": u.DisplayName, "mobilePhone": nullable(u.MobilePhone), "accountEnabled": u.AccountEnabled,
		"onPremisesSyncEnabled": nil}
	if u.OnPremisesSyncEnabled {
		// Graph reports true for synced users and null for cloud-only ones.
		all["onPremisesSyncEnabled"] = true
	}
	if sel == "" {
		return all
	}
	out := map[string]any{"id": u.ID}
	for _, p := range strings.Split(sel, ",") {
		if v, ok := all[strings.TrimSpace(p)]; ok {
			out[strings.TrimSpace(p)] = v
		}
	}
	return out
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ParseFilter parses the subset of OData $filter Graph lookups use here:
// clauses "property eq 'literal'" joined by "or", quotes in a literal
// doubled. It returns the clauses as property → literals.
func ParseFilter(f string) ([][2]string, error) {
	var out [][2]string
	rest := strings.TrimSpace(f)
	for {
		prop, after, ok := strings.Cut(rest, " eq ")
		if !ok {
			return nil, fmt.Errorf("expected 'property eq value' in %q", rest)
		}
		prop = strings.TrimSpace(prop)
		after = strings.TrimLeft(after, " ")
		if !strings.HasPrefix(after, "'") {
			return nil, fmt.Errorf("expected a string literal after %s eq", prop)
		}
		var lit strings.Builder
		i := 1
		closed := false
		for i < len(after) {
			if after[i] == '\'' {
				if i+1 < len(after) && after[i+1] == '\'' {
					lit.WriteByte('\'')
					i += 2
					continue
				}
				closed = true
				i++
				break
			}
			lit.WriteByte(after[i])
			i++
		}
		if !closed {
			return nil, fmt.Errorf("unterminated string literal")
		}
		out = append(out, [2]string{prop, lit.String()})
		rest = strings.TrimLeft(after[i:], " ")
		if rest == "" {
			return out, nil
		}
		var more bool
		if rest, more = strings.CutPrefix(rest, "or "); !more {
			return nil, fmt.Errorf("expected 'or' before %q", rest)
		}
	}
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups++
	if !s.authorized(w, r) || s.scripted(w) {
		return
	}
	q := r.URL.Query()
	var clauses [][2]string
	if f := q.Get("$filter"); f != "" {
		var err error
		if clauses, err = ParseFilter(f); err != nil {
			graphError(w, http.StatusBadRequest, "BadRequest", "Invalid filter clause: "+err.Error())
			return
		}
		for _, c := range clauses {
			if c[0] != "userPrincipalName" && c[0] != "mail" && c[0] != "id" {
				graphError(w, http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property '"+c[0]+"' of resource 'User'.")
				return
			}
		}
	}
	value := []map[string]any{}
	for _, u := range s.users {
		match := len(clauses) == 0
		for _, c := range clauses {
			var v string
			switch c[0] {
			case "userPrincipalName":
				v = u.UserPrincipalName
			case "mail":
				v = u.Mail
			case "id":
				v = u.ID
			}
			// Graph compares these case-insensitively.
			if v != "" && strings.EqualFold(v, c[1]) {
				match = true
			}
		}
		if match {
			value = append(value, render(u, q.Get("$select")))
		}
	}
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal")
	_ = json.NewEncoder(w).Encode(map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": value})
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups++
	if !s.authorized(w, r) || s.scripted(w) {
		return
	}
	id := r.PathValue("id")
	for _, u := range s.users {
		if strings.EqualFold(u.ID, id) || strings.EqualFold(u.UserPrincipalName, id) {
			w.Header().Set("Content-Type", "application/json;odata.metadata=minimal")
			out := render(u, r.URL.Query().Get("$select"))
			out["@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#users/$entity"
			_ = json.NewEncoder(w).Encode(out)
			return
		}
	}
	graphError(w, http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
}

func (s *Server) organization(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.authorized(w, r) || s.scripted(w) {
		return
	}
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal")
	_ = json.NewEncoder(w).Encode(map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#organization",
		"value": []map[string]any{{"id": s.TenantID, "displayName": "Graph Test Tenant"}}})
}
