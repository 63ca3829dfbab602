package dagspec

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Asset is Airflow 3's Asset (Dataset in Airflow 2): data a task updates
// (its outlets) and DAGs can be scheduled on. Its URI identifies it; the
// name defaults to the URI and the URI to the name, as in Airflow.
type Asset struct {
	Name  string         `json:"name"`
	URI   string         `json:"uri"`
	Group string         `json:"group,omitempty"`
	Extra map[string]any `json:"extra,omitempty"`
}

// AssetAlias is Airflow's AssetAlias: a name that a task's outlet events
// attach assets to at run time (outlet_events[alias].add(asset)), and
// that DAGs can be scheduled on and tasks read (inlets). It resolves to
// the assets events named through it.
type AssetAlias struct {
	Name  string `json:"name"`
	Group string `json:"group,omitempty"`
}

// AssetRef is an asset or an alias: one of a task's inlets or outlets.
type AssetRef struct {
	Asset *Asset      `json:"asset,omitempty"`
	Alias *AssetAlias `json:"alias,omitempty"`
}

// AssetScheduleName is how Airflow 3 summarises an asset schedule
// (AssetTriggeredTimetable's summary).
const AssetScheduleName = "Asset"

// AssetCond is an asset schedule's condition: one asset, one alias, all
// of a list (Airflow's AssetAll, `&`, and a schedule given as a list) or
// any of it (AssetAny, `|`).
type AssetCond struct {
	Asset *Asset      `json:"asset,omitempty"`
	Alias *AssetAlias `json:"alias,omitempty"`
	All   []AssetCond `json:"all,omitempty"`
	Any   []AssetCond `json:"any,omitempty"`
}

// Eval reports whether the condition holds when the assets for which
// updated is true have been updated. An alias holds when one of the
// assets it resolved to (resolved gives their URIs) has, as Airflow's
// AssetAlias.evaluate: an alias no event named an asset through holds
// never.
func (c *AssetCond) Eval(updated func(uri string) bool, resolved func(alias string) []string) bool {
	switch {
	case c.Asset != nil:
		return updated(c.Asset.URI)
	case c.Alias != nil:
		for _, uri := range resolved(c.Alias.Name) {
			if updated(uri) {
				return true
			}
		}
		return false
	case c.All != nil:
		for i := range c.All {
			if !c.All[i].Eval(updated, resolved) {
				return false
			}
		}
		return true
	case c.Any != nil:
		for i := range c.Any {
			if c.Any[i].Eval(updated, resolved) {
				return true
			}
		}
	}
	return false
}

// leaves calls f on each asset and alias of the condition, depth first.
func (c *AssetCond) leaves(f func(*AssetCond)) {
	if c.Asset != nil || c.Alias != nil {
		f(c)
	}
	for i := range c.All {
		c.All[i].leaves(f)
	}
	for i := range c.Any {
		c.Any[i].leaves(f)
	}
}

// Aliases returns the condition's aliases, each once, by name.
func (c *AssetCond) Aliases() []AssetAlias {
	seen := map[string]bool{}
	var out []AssetAlias
	c.leaves(func(l *AssetCond) {
		if l.Alias != nil && !seen[l.Alias.Name] {
			seen[l.Alias.Name] = true
			out = append(out, *l.Alias)
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Assets returns the condition's assets, each once, by URI.
func (c *AssetCond) Assets() []Asset {
	seen := map[string]bool{}
	var out []Asset
	c.leaves(func(l *AssetCond) {
		if l.Asset != nil && !seen[l.Asset.URI] {
			seen[l.Asset.URI] = true
			out = append(out, *l.Asset)
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].URI < out[j].URI })
	return out
}

// String is the condition as Airflow writes an asset expression.
func (c *AssetCond) String() string {
	join := func(cs []AssetCond, op string) string {
		parts := make([]string, len(cs))
		for i := range cs {
			parts[i] = cs[i].String()
		}
		return "(" + strings.Join(parts, op) + ")"
	}
	switch {
	case c.Asset != nil:
		return c.Asset.URI
	case c.Alias != nil:
		return "AssetAlias(" + c.Alias.Name + ")"
	case c.All != nil:
		return join(c.All, " & ")
	default:
		return join(c.Any, " | ")
	}
}

// assetTypes are the __type__ names dag-factory writes for an asset.
var assetTypes = map[string]bool{
	"airflow.sdk.Asset": true, "airflow.sdk.definitions.asset.Asset": true, "airflow.assets.Asset": true,
	"airflow.datasets.Dataset": true, "airflow.Dataset": true, "airflow.sdk.Dataset": true, "Asset": true, "Dataset": true,
}

// aliasTypes are the __type__ names of an asset alias (a Python DAG
// file's AssetAlias writes the first).
var aliasTypes = map[string]bool{
	"airflow.sdk.AssetAlias": true, "airflow.sdk.definitions.asset.AssetAlias": true, "airflow.datasets.DatasetAlias": true,
	"airflow.sdk.DatasetAlias": true, "AssetAlias": true, "DatasetAlias": true,
}

// assetRef reads an asset or an alias (a mapping whose __type__ is an
// alias type, with name and group).
func (p *parser) assetRef(n *yaml.Node, ctx string) (AssetRef, error) {
	n = resolve(n)
	if n.Kind == yaml.MappingNode {
		fs, err := p.fields(n, ctx)
		if err != nil {
			return AssetRef{}, err
		}
		if f, ok := get(fs, "__type__"); ok && aliasTypes[resolve(f.val).Value] {
			al := AssetAlias{Group: "asset"}
			for _, f := range fs {
				switch f.key {
				case "__type__":
				case "name":
					al.Name, err = p.str(f.val, ctx+": name")
				case "group":
					al.Group, err = p.str(f.val, ctx+": group")
				default:
					return AssetRef{}, p.errf(f.knod, "%s: unknown asset alias argument %q", ctx, f.key)
				}
				if err != nil {
					return AssetRef{}, err
				}
			}
			if al.Name = strings.TrimSpace(al.Name); al.Name == "" {
				return AssetRef{}, p.errf(n, "%s: an asset alias needs a name", ctx)
			}
			if al.Group == "" {
				al.Group = "asset"
			}
			return AssetRef{Alias: &al}, nil
		}
	}
	a, err := p.asset(n, ctx)
	if err != nil {
		return AssetRef{}, err
	}
	return AssetRef{Asset: &a}, nil
}

// asset reads one asset: a URI, or a mapping with uri and/or name (and
// group, extra), dag-factory's __type__ among them.
func (p *parser) asset(n *yaml.Node, ctx string) (Asset, error) {
	n = resolve(n)
	var a Asset
	switch n.Kind {
	case yaml.ScalarNode:
		s, err := p.str(n, ctx)
		if err != nil {
			return a, err
		}
		a.URI = s
	case yaml.MappingNode:
		fs, err := p.fields(n, ctx)
		if err != nil {
			return a, err
		}
		for _, f := range fs {
			switch f.key {
			case "__type__":
				s, _ := p.str(f.val, ctx)
				if !assetTypes[s] {
					return a, p.errf(f.val, "%s: %q is not an asset type gust knows (airflow.sdk.Asset, airflow.datasets.Dataset)", ctx, s)
				}
			case "uri":
				a.URI, err = p.str(f.val, ctx+": uri")
			case "name":
				a.Name, err = p.str(f.val, ctx+": name")
			case "group":
				a.Group, err = p.str(f.val, ctx+": group")
			case "extra":
				err = p.decode(f.val, &a.Extra, ctx+": extra", "a mapping")
			default:
				return a, p.errf(f.knod, "%s: unknown asset argument %q", ctx, f.key)
			}
			if err != nil {
				return a, err
			}
		}
	default:
		return a, p.errf(n, "%s: an asset is a URI or a mapping with uri and name", ctx)
	}
	return normalAsset(a, func(msg string) error { return p.errf(n, "%s: %s", ctx, msg) })
}

// normalAsset fills a name from the URI and a URI from the name, and
// checks there is one.
func normalAsset(a Asset, bad func(string) error) (Asset, error) {
	a.URI, a.Name = strings.TrimSpace(a.URI), strings.TrimSpace(a.Name)
	switch {
	case a.URI == "" && a.Name == "":
		return a, bad("an asset needs a uri or a name")
	case a.URI == "":
		a.URI = a.Name
	case a.Name == "":
		a.Name = a.URI
	}
	if a.Group == "" {
		a.Group = "asset"
	}
	return a, nil
}

// assetRefs reads a task's outlets or inlets: a list of assets and
// aliases.
func (p *parser) assetRefs(n *yaml.Node, ctx string) ([]AssetRef, error) {
	n = resolve(n)
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		if n.Kind == yaml.MappingNode {
			if fs, err := p.fields(n, ctx); err == nil {
				if f, ok := get(fs, "file"); ok {
					return p.configAssetRefs(n, fs, f, ctx)
				}
			}
		}
		return nil, p.errf(n, "%s: a list of assets (URIs, or mappings with uri and name) and asset aliases", ctx)
	}
	var out []AssetRef
	for _, item := range n.Content {
		r, err := p.assetRef(item, ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// assetSchedule reads a schedule that is an asset condition: a list of
// assets (all of them), a Python file's {__gust_assets__: condition}, or
// dag-factory's {datasets|assets: a list, a condition string such as
// "(a & b) | c", or {__and__|__or__: [...]}}. ok is false when the
// schedule is not one. orTime is the timetable of an AssetOrTimeSchedule
// (a Python file's {__gust_assets__: ..., __gust_or_time__: timetable}).
func (p *parser) assetSchedule(n *yaml.Node, ctx string) (cond *AssetCond, orTime *yaml.Node, ok bool, err error) {
	n = resolve(n)
	switch n.Kind {
	case yaml.SequenceNode:
		c, err := p.assetCond(n, ctx)
		return c, nil, true, err
	case yaml.MappingNode:
		fs, err := p.fields(n, ctx)
		if err != nil {
			return nil, nil, true, err
		}
		if f, ok := get(fs, "__gust_assets__"); ok {
			c, err := p.assetCond(f.val, ctx)
			if t, hasTime := get(fs, "__gust_or_time__"); hasTime {
				orTime = t.val
			}
			return c, orTime, true, err
		}
		if f, ok := get(fs, "__type__"); ok && (assetTypes[resolve(f.val).Value] || aliasTypes[resolve(f.val).Value]) {
			c, err := p.assetCond(n, ctx)
			return c, nil, true, err
		}
		var cond, file *field
		for i := range fs {
			switch fs[i].key {
			case "datasets", "assets":
				cond = &fs[i]
			case "file":
				file = &fs[i]
			}
		}
		if cond == nil {
			if file != nil {
				return nil, nil, true, p.errf(n, "%s: file names a dag-factory asset config; datasets (or assets) says which of its assets", ctx)
			}
			return nil, nil, false, nil
		}
		v := resolve(cond.val)
		var c *AssetCond
		if v.Kind == yaml.ScalarNode {
			if c, err = parseAssetExpr(v.Value); err != nil {
				return nil, nil, true, p.errf(v, "%s: %v", ctx, err)
			}
		} else if c, err = p.assetCond(v, ctx); err != nil {
			return nil, nil, true, err
		}
		if file != nil {
			uris, err := p.assetConfig(file, ctx)
			if err != nil {
				return nil, nil, true, err
			}
			if err := renameAssets(c, uris); err != nil {
				return nil, nil, true, p.errf(v, "%s: %v", ctx, err)
			}
		}
		return c, nil, true, nil
	}
	return nil, nil, false, nil
}

// assetCond reads a condition: an asset, a list (all), or a mapping with
// __and__ / __or__ (or all / any) of conditions.
func (p *parser) assetCond(n *yaml.Node, ctx string) (*AssetCond, error) {
	n = resolve(n)
	list := func(n *yaml.Node) ([]AssetCond, error) {
		n = resolve(n)
		if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
			return nil, p.errf(n, "%s: an asset condition's operands are a non-empty list", ctx)
		}
		out := make([]AssetCond, 0, len(n.Content))
		for _, item := range n.Content {
			c, err := p.assetCond(item, ctx)
			if err != nil {
				return nil, err
			}
			out = append(out, *c)
		}
		return out, nil
	}
	switch n.Kind {
	case yaml.SequenceNode:
		all, err := list(n)
		if err != nil {
			return nil, err
		}
		if n.Tag == "!or" { // dag-factory's YAML tags
			return &AssetCond{Any: all}, nil
		}
		return &AssetCond{All: all}, nil
	case yaml.MappingNode:
		fs, err := p.fields(n, ctx)
		if err != nil {
			return nil, err
		}
		if len(fs) == 1 {
			switch fs[0].key {
			case "__and__", "all", "and":
				all, err := list(fs[0].val)
				return &AssetCond{All: all}, err
			case "__or__", "any", "or":
				anyOf, err := list(fs[0].val)
				return &AssetCond{Any: anyOf}, err
			}
		}
	}
	r, err := p.assetRef(n, ctx)
	if err != nil {
		return nil, err
	}
	return &AssetCond{Asset: r.Asset, Alias: r.Alias}, nil
}

// assetConfig reads a dag-factory asset config file (file: in outlets
// or a schedule): `datasets:` (or `assets:`), a list of name and uri; it
// returns the URIs by name. A relative path is the DAG file's folder's.
func (p *parser) assetConfig(f *field, ctx string) (map[string]string, error) {
	path, err := p.str(f.val, ctx+": file")
	if err != nil {
		return nil, err
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(p.file), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, p.errf(f.val, "%s: asset config file: %v", ctx, err)
	}
	var doc map[string][]struct {
		Name string `yaml:"name"`
		URI  string `yaml:"uri"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, p.errf(f.val, "%s: asset config file %s: want datasets: a list of name and uri: %v", ctx, path, err)
	}
	list, ok := doc["datasets"]
	if !ok {
		list, ok = doc["assets"]
	}
	if !ok {
		return nil, p.errf(f.val, "%s: asset config file %s has no datasets: list", ctx, path)
	}
	out := make(map[string]string, len(list))
	for _, a := range list {
		if a.Name == "" || a.URI == "" {
			return nil, p.errf(f.val, "%s: asset config file %s: every asset needs a name and a uri", ctx, path)
		}
		out[a.Name] = a.URI
	}
	return out, nil
}

// configAssetRefs reads outlets or inlets given as dag-factory's
// {file: config, datasets: [names]}: the assets of those names, by URI
// (named by it, as dag-factory's Dataset(uri)).
func (p *parser) configAssetRefs(n *yaml.Node, fs []field, file field, ctx string) ([]AssetRef, error) {
	f, ok := get(fs, "datasets")
	if !ok {
		f, ok = get(fs, "assets")
	}
	if !ok {
		return nil, p.errf(n, "%s: file names a dag-factory asset config; datasets (or assets) says which of its assets", ctx)
	}
	var names []string
	if err := p.decode(f.val, &names, ctx+": "+f.key, "a list of asset names"); err != nil {
		return nil, err
	}
	uris, err := p.assetConfig(&file, ctx)
	if err != nil {
		return nil, err
	}
	out := make([]AssetRef, 0, len(names))
	for _, name := range names {
		uri, ok := uris[name]
		if !ok {
			return nil, p.errf(f.val, "%s: asset %q is not in the config file", ctx, name)
		}
		out = append(out, AssetRef{Asset: &Asset{URI: uri, Name: uri, Group: "asset"}})
	}
	return out, nil
}

// renameAssets turns the names in a condition read with a dag-factory
// asset config into the assets of those names, by URI.
func renameAssets(c *AssetCond, uris map[string]string) error {
	if c.Asset != nil {
		uri, ok := uris[c.Asset.URI]
		if !ok {
			return fmt.Errorf("asset %q is not in the config file", c.Asset.URI)
		}
		c.Asset = &Asset{URI: uri, Name: uri, Group: "asset"}
	}
	for _, list := range [][]AssetCond{c.All, c.Any} {
		for i := range list {
			if err := renameAssets(&list[i], uris); err != nil {
				return err
			}
		}
	}
	return nil
}

// parseAssetExpr parses dag-factory's condition strings: URIs (or names)
// joined by & and |, with parentheses; & binds tighter, as in Python.
func parseAssetExpr(s string) (*AssetCond, error) {
	var toks []string
	cur := strings.Builder{}
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '&' || r == '|':
			flush()
			toks = append(toks, string(r))
		case r == ' ' || r == '\t' || r == '\n':
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	pos := 0
	var or func() (*AssetCond, error)
	atom := func() (*AssetCond, error) {
		if pos >= len(toks) {
			return nil, fmt.Errorf("asset condition %q ends too early", s)
		}
		t := toks[pos]
		pos++
		switch t {
		case "(":
			c, err := or()
			if err != nil {
				return nil, err
			}
			if pos >= len(toks) || toks[pos] != ")" {
				return nil, fmt.Errorf("asset condition %q: missing )", s)
			}
			pos++
			return c, nil
		case ")", "&", "|":
			return nil, fmt.Errorf("asset condition %q: unexpected %s", s, t)
		}
		a, err := normalAsset(Asset{URI: t}, func(m string) error { return fmt.Errorf("%s", m) })
		return &AssetCond{Asset: &a}, err
	}
	and := func() (*AssetCond, error) {
		c, err := atom()
		if err != nil {
			return nil, err
		}
		all := []AssetCond{*c}
		for pos < len(toks) && toks[pos] == "&" {
			pos++
			n, err := atom()
			if err != nil {
				return nil, err
			}
			all = append(all, *n)
		}
		if len(all) == 1 {
			return c, nil
		}
		return &AssetCond{All: all}, nil
	}
	or = func() (*AssetCond, error) {
		c, err := and()
		if err != nil {
			return nil, err
		}
		anyOf := []AssetCond{*c}
		for pos < len(toks) && toks[pos] == "|" {
			pos++
			n, err := and()
			if err != nil {
				return nil, err
			}
			anyOf = append(anyOf, *n)
		}
		if len(anyOf) == 1 {
			return c, nil
		}
		return &AssetCond{Any: anyOf}, nil
	}
	c, err := or()
	if err != nil {
		return nil, err
	}
	if pos != len(toks) {
		return nil, fmt.Errorf("asset condition %q: unexpected %s", s, toks[pos])
	}
	return c, nil
}
