// This directory is the web UI's npm project, not Go: this file keeps
// `go ... ./...` out of node_modules.
module github.com/gust-sched/gust/webui/js

go 1.26
