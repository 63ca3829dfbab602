package apiserver

// routesAdmin registers what Airflow's UI keeps under Admin and Browse:
// pools, variables, connections, the audit log, jobs, import errors, DAG
// warnings and the configuration. Each resource has its own file.
func (s *Server) routesAdmin(r *router) {
	s.routesPools(r)
	s.routesVariables(r)
	s.routesConnections(r)
	s.routesEventLogs(r)
	s.routesJobs(r)
	s.routesImportErrors(r)
	s.routesDagWarnings(r)
	s.routesConfig(r)
}
