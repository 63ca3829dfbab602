package apiserver

func (s *Server) routesDAGs(r *router)          {}
func (s *Server) routesDagRuns(r *router)       {}
func (s *Server) routesTaskInstances(r *router) {}
