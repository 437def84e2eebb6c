package release

import "net/http"

type dashboard struct{ s *Server }

func newDashboard(s *Server) *dashboard { return &dashboard{s: s} }

func (d *dashboard) routes(mux *http.ServeMux) {}
