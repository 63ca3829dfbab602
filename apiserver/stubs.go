package apiserver

func (s *Server) routesAdmin(r *router) {}
func (s *Server) routesEmpty(r *router) {}
