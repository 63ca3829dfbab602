package worker

import (
	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/metadb"
)

// pyOutletEvent is an asset event a Python try reports: the extra it gave
// one of its outlets (outlet_events[asset].extra, a yielded Metadata), or
// an asset it attached to aliases (outlet_events[alias].add(asset)).
type pyOutletEvent struct {
	URI     string         `json:"uri"`
	Name    string         `json:"name"`
	Group   string         `json:"group"`
	Extra   map[string]any `json:"extra"`
	Aliases []string       `json:"aliases"`
}

// outletEvents are the asset events of a successful try of task: one per
// outlet, with the extra the try gave it, then one per asset the try
// attached to its outlet aliases (aliases the task does not name as
// outlets are left out, as in Airflow).
func outletEvents(task *dagspec.Task, reported []pyOutletEvent) []metadb.OutletEvent {
	if task == nil || len(task.Outlets)+len(task.OutletAliases) == 0 {
		return nil
	}
	extra := map[string]map[string]any{}
	for _, e := range reported {
		if len(e.Aliases) == 0 && e.Extra != nil {
			extra[e.URI] = e.Extra
		}
	}
	out := make([]metadb.OutletEvent, 0, len(task.Outlets))
	for _, a := range task.Outlets {
		out = append(out, metadb.OutletEvent{Asset: a, Extra: extra[a.URI]})
	}
	aliases := make(map[string]dagspec.AssetAlias, len(task.OutletAliases))
	for _, al := range task.OutletAliases {
		aliases[al.Name] = al
	}
	for _, e := range reported {
		var via []dagspec.AssetAlias
		for _, name := range e.Aliases {
			if al, ok := aliases[name]; ok {
				via = append(via, al)
			}
		}
		if len(via) == 0 || e.URI == "" {
			continue
		}
		a := dagspec.Asset{URI: e.URI, Name: e.Name, Group: e.Group}
		if a.Name == "" {
			a.Name = a.URI
		}
		if a.Group == "" {
			a.Group = "asset"
		}
		out = append(out, metadb.OutletEvent{Asset: a, Extra: e.Extra, Aliases: via})
	}
	return out
}

// outletRefs are the task's outlets, assets then aliases.
func outletRefs(task *dagspec.Task) []dagspec.AssetRef {
	out := make([]dagspec.AssetRef, 0, len(task.Outlets)+len(task.OutletAliases))
	for i := range task.Outlets {
		out = append(out, dagspec.AssetRef{Asset: &task.Outlets[i]})
	}
	for i := range task.OutletAliases {
		out = append(out, dagspec.AssetRef{Alias: &task.OutletAliases[i]})
	}
	return out
}
