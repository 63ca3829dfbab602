package apiserver

func (s *Server) routesDagRuns(r *router)       {}
func (s *Server) routesTaskInstances(r *router) {}
func (s *Server) routesAdmin(r *router)         {}
func (s *Server) routesEmpty(r *router)         {}
