package dagspec

import (
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// The YAML reader's task groups, as dag-factory reads them: task_groups
// (a mapping of group name to group, or a list with group_name) with
// tooltip, prefix_group_id, parent_group_name, default_args and
// dependencies; a task joins one by task_group_name. Ids follow Airflow's
// rule: a group that prefixes ids puts its own id and a dot before the ids
// of the tasks and groups inside it.

// FinalIDsKey is a DAG key that gust's Python reader sets: the document's
// task and group keys are already full ids (prefixed), and parent groups
// are named by their full ids.
const FinalIDsKey = "__gust_final_ids__"

// groupDef is a group being read: its model, its default_args merged over
// its parent's, and its dependencies field.
type groupDef struct {
	name string
	g    *TaskGroup
	args []field
	deps *field
	knod *yaml.Node
}

// childID is the id a task or group named label gets inside g (nil: the
// root group).
func childID(g *TaskGroup, label string) string {
	if g != nil && g.PrefixGroupID {
		return g.GroupID + "." + label
	}
	return label
}

// taskGroups reads a DAG's task_groups, resolving parents (a cycle is an
// error), full ids and default_args.
func (p *parser) taskGroups(d *DAG, gf field, final bool) (map[string]*groupDef, error) {
	where := "DAG " + d.DagID + ": task_groups"
	n := resolve(gf.val)
	raw := map[string][]field{}
	knods := map[string]*yaml.Node{}
	var names []string
	switch n.Kind {
	case yaml.MappingNode:
		entries, err := p.fields(n, where)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			fs := []field{}
			if !isNull(e.val) {
				if fs, err = p.fields(e.val, where+": "+e.key); err != nil {
					return nil, err
				}
			}
			raw[e.key], knods[e.key] = fs, e.knod
			names = append(names, e.key)
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			fs, err := p.fields(item, where+": group")
			if err != nil {
				return nil, err
			}
			f, ok := get(fs, "group_name")
			if !ok {
				return nil, p.errf(item, "%s: a group in the list has no group_name", where)
			}
			name, err := p.str(f.val, where+": group_name")
			if err != nil {
				return nil, err
			}
			if _, dup := raw[name]; dup {
				return nil, p.errf(f.val, "%s: duplicate group %q", where, name)
			}
			raw[name], knods[name] = fs, f.val
			names = append(names, name)
		}
	default:
		return nil, p.errf(n, "%s: want a mapping of group name to group, or a list of groups with group_name", where)
	}
	defs := map[string]*groupDef{}
	var build func(name string, chain []string) (*groupDef, error)
	build = func(name string, chain []string) (*groupDef, error) {
		if gd, ok := defs[name]; ok {
			return gd, nil
		}
		for _, c := range chain {
			if c == name {
				return nil, p.errf(knods[name], "%s: groups are each other's parents: %s", where, strings.Join(append(chain, name), " -> "))
			}
		}
		if err := checkID(name); err != nil {
			return nil, p.errf(knods[name], "%s: group %q: %v", where, name, err)
		}
		gw := where + ": " + name
		gd := &groupDef{name: name, g: &TaskGroup{GroupID: name, PrefixGroupID: true}, knod: knods[name]}
		var parent *groupDef
		for _, f := range raw[name] {
			var err error
			ctx := gw + ": " + f.key
			switch f.key {
			case "group_name":
			case "tooltip":
				gd.g.Tooltip, err = p.str(f.val, ctx)
			case "prefix_group_id":
				gd.g.PrefixGroupID, err = p.boolean(f.val, ctx)
			case "ui_color":
				gd.g.UIColor, err = p.str(f.val, ctx)
			case "ui_fgcolor":
				gd.g.UIFgColor, err = p.str(f.val, ctx)
			case "is_mapped":
				gd.g.IsMapped, err = p.boolean(f.val, ctx)
			case "dependencies":
				f := f
				gd.deps = &f
			case "default_args":
				if !isNull(f.val) {
					gd.args, err = p.fields(f.val, ctx)
				}
			case "parent_group_name":
				var pname string
				if pname, err = p.str(f.val, ctx); err != nil {
					break
				}
				if _, ok := raw[pname]; !ok {
					return nil, p.errf(f.val, "%s: unknown parent group %q", gw, pname)
				}
				if parent, err = build(pname, append(chain, name)); err != nil {
					return nil, err
				}
			case "add_suffix_on_collision", "group_display_name":
				p.ignore(gw+": "+f.key, "gust shows the group id")
			default:
				return nil, p.errf(f.knod, "%s: unknown task group argument %q", gw, f.key)
			}
			if err != nil {
				return nil, err
			}
		}
		if parent != nil {
			gd.g.Parent = parent.g.GroupID
			if !final {
				gd.g.GroupID = childID(parent.g, name)
			}
			gd.args = merge(parent.args, gd.args)
		}
		defs[name] = gd
		return gd, nil
	}
	for _, name := range names {
		if _, err := build(name, nil); err != nil {
			return nil, err
		}
	}
	ids := map[string]string{}
	byID := map[string]*TaskGroup{}
	for _, name := range names {
		g := defs[name].g
		if other, dup := ids[g.GroupID]; dup {
			return nil, p.errf(defs[name].knod, "%s: groups %s and %s have the same id %q", where, other, name, g.GroupID)
		}
		ids[g.GroupID], byID[g.GroupID] = name, g
		d.TaskGroups = append(d.TaskGroups, g)
	}
	// Parents first, then by id: the order the UI nests them in.
	depth := func(g *TaskGroup) int {
		n := 0
		for ; g.Parent != ""; n++ {
			g = byID[g.Parent]
		}
		return n
	}
	sort.SliceStable(d.TaskGroups, func(i, j int) bool {
		di, dj := depth(d.TaskGroups[i]), depth(d.TaskGroups[j])
		if di != dj {
			return di < dj
		}
		return d.TaskGroups[i].GroupID < d.TaskGroups[j].GroupID
	})
	return defs, nil
}

// groupGraph answers which tasks a group's dependencies bind to: its roots
// (inside tasks with no upstream inside) and its leaves (no downstream
// inside), as Airflow's TaskGroup.get_roots and get_leaves.
type groupGraph struct {
	d       *DAG
	byID    map[string]*Task
	members map[string][]*Task // group id -> its tasks, nested groups' too
}

func newGroupGraph(d *DAG, tasks []*Task, byID map[string]*Task) *groupGraph {
	gg := &groupGraph{d: d, byID: byID, members: map[string][]*Task{}}
	for _, t := range tasks {
		for _, g := range d.TaskGroups {
			if d.InGroup(t, g.GroupID) {
				gg.members[g.GroupID] = append(gg.members[g.GroupID], t)
			}
		}
	}
	return gg
}

func (gg *groupGraph) roots(groupID string) []string {
	in := map[string]bool{}
	for _, t := range gg.members[groupID] {
		in[t.TaskID] = true
	}
	var out []string
	for _, t := range gg.members[groupID] {
		inner := false
		for _, u := range t.Upstream {
			inner = inner || in[u]
		}
		if !inner {
			out = append(out, t.TaskID)
		}
	}
	return out
}

func (gg *groupGraph) leaves(groupID string) []string {
	in := map[string]bool{}
	for _, t := range gg.members[groupID] {
		in[t.TaskID] = true
	}
	hasInnerDown := map[string]bool{}
	for _, t := range gg.members[groupID] {
		for _, u := range t.Upstream {
			if in[u] {
				hasInnerDown[u] = true
			}
		}
	}
	var out []string
	for _, t := range gg.members[groupID] {
		if !hasInnerDown[t.TaskID] {
			out = append(out, t.TaskID)
		}
	}
	return out
}

// sortedGroupNames lists the groups in the order their dependencies are
// applied: by the document's order of their ids (parents first).
func sortedGroupNames(groups map[string]*groupDef) []string {
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		li, lj := groups[names[i]].knod.Line, groups[names[j]].knod.Line
		return li < lj || (li == lj && names[i] < names[j])
	})
	return names
}

// relevantSetups sets each task's Setups: its setups in scope (see
// SetupsInScope) less its direct upstreams, whose states the trigger rule
// already waits for. A teardown has none.
func relevantSetups(tasks []*Task) {
	g := newTaskGraph(tasks)
	for _, t := range tasks {
		t.Setups = nil
		if t.IsTeardown {
			continue
		}
		for _, s := range g.setupsInScope(t) {
			if !slices.Contains(t.Upstream, s) {
				t.Setups = append(t.Setups, s)
			}
		}
	}
}

// SetupsInScope returns, for the DAG's tasks, the setups a task is inside,
// as Airflow's get_upstreams_only_setups: the setups among its ancestors
// that have no teardown, or a teardown downstream of the task. The graph
// is indexed once for every call of the returned function.
func (d *DAG) SetupsInScope() func(t *Task) []string { return newTaskGraph(d.Tasks).setupsInScope }

// taskGraph indexes tasks and their downstream ids.
type taskGraph struct {
	byID map[string]*Task
	down map[string][]string
}

func newTaskGraph(tasks []*Task) taskGraph {
	g := taskGraph{byID: make(map[string]*Task, len(tasks)), down: map[string][]string{}}
	for _, t := range tasks {
		g.byID[t.TaskID] = t
		for _, u := range t.Upstream {
			g.down[u] = append(g.down[u], t.TaskID)
		}
	}
	return g
}

// reach is every task reachable from id by next, id excluded.
func (g taskGraph) reach(id string, next func(string) []string) map[string]bool {
	seen := map[string]bool{}
	stack := []string{id}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, n := range next(cur) {
			if !seen[n] {
				seen[n] = true
				stack = append(stack, n)
			}
		}
	}
	return seen
}

func (g taskGraph) setupsInScope(t *Task) []string {
	descendants := g.reach(t.TaskID, func(id string) []string { return g.down[id] })
	var out []string
	for a := range g.reach(t.TaskID, func(id string) []string {
		if x := g.byID[id]; x != nil {
			return x.Upstream
		}
		return nil
	}) {
		s := g.byID[a]
		if s == nil || !s.IsSetup {
			continue
		}
		hasTeardown, inScope := false, false
		for _, d := range g.down[a] {
			if g.byID[d].IsTeardown {
				hasTeardown = true
				inScope = inScope || descendants[d]
			}
		}
		if !hasTeardown || inScope {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

// Teardowns are the teardown tasks directly downstream of a setup.
func (d *DAG) Teardowns(setupID string) []string {
	var out []string
	for _, t := range d.Tasks {
		if t.IsTeardown && slices.Contains(t.Upstream, setupID) {
			out = append(out, t.TaskID)
		}
	}
	return out
}
