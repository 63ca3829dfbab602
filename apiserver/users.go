package apiserver

// The FAB auth manager's users and roles API (/auth/fab/v1/users,
// /auth/fab/v1/roles) in its JSON shapes, over gust's users table: one role
// per user, Admin only, every write in the audit log, password hashes never
// returned. FAB fields gust does not keep (login_count, changed_on) are
// null.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/metadb"
)

func (s *Server) routesFABUsers(r *router) {
	r.handle("GET /auth/fab/v1/users", auth.Admin, s.getFABUsers)
	r.handle("POST /auth/fab/v1/users", auth.Admin, s.postFABUser)
	r.handle("GET /auth/fab/v1/users/{username}", auth.Admin, s.getFABUser)
	r.handle("PATCH /auth/fab/v1/users/{username}", auth.Admin, s.patchFABUser)
	r.handle("DELETE /auth/fab/v1/users/{username}", auth.Admin, s.deleteFABUser)
	r.handle("GET /auth/fab/v1/roles", auth.Admin, s.getFABRoles)
	r.handle("GET /auth/fab/v1/roles/{name}", auth.Admin, s.getFABRole)
}

// fabRoleRef is FAB's Role reference in user bodies: {"name": ...}.
type fabRoleRef struct {
	Name string `json:"name"`
}

// fabUserResponse is FAB's UserResponse.
type fabUserResponse struct {
	Username       string       `json:"username"`
	Email          string       `json:"email"`
	FirstName      string       `json:"first_name"`
	LastName       string       `json:"last_name"`
	Roles          []fabRoleRef `json:"roles"`
	Active         bool         `json:"active"`
	LastLogin      *time.Time   `json:"last_login"`
	LoginCount     *int         `json:"login_count"`
	FailLoginCount *int         `json:"fail_login_count"`
	CreatedOn      *time.Time   `json:"created_on"`
	ChangedOn      *time.Time   `json:"changed_on"`
}

type fabUserCollection struct {
	Users        []fabUserResponse `json:"users"`
	TotalEntries int               `json:"total_entries"`
}

// fabUserOf is a user in FAB's shape.
func fabUserOf(u *metadb.UserDetail) fabUserResponse {
	created := u.CreatedAt.UTC()
	fails := u.FailedLogins
	out := fabUserResponse{Username: u.Username, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		Roles: []fabRoleRef{{Name: u.Role}}, Active: u.Active, FailLoginCount: &fails, CreatedOn: &created}
	if u.LastLogin != nil {
		t := u.LastLogin.UTC()
		out.LastLogin = &t
	}
	return out
}

func userNotFound(username string) error {
	return errorf(http.StatusNotFound, "The User with username `%s` was not found", username)
}

// fabUserErr words a missing user as FAB does.
func fabUserErr(u *metadb.UserDetail, username string, err error) (*metadb.UserDetail, error) {
	if errors.Is(err, metadb.ErrNotFound) {
		return nil, userNotFound(username)
	}
	return u, err
}

// readFABUser reads one user.
func readFABUser(ctx context.Context, q metadb.DBTX, username string) (*metadb.UserDetail, error) {
	u, err := metadb.GetUserDetail(ctx, q, username)
	return fabUserErr(u, username, err)
}

// lockFABUser reads one user and locks it until tx ends.
func lockFABUser(ctx context.Context, tx pgx.Tx, username string) (*metadb.UserDetail, error) {
	u, err := metadb.LockUserDetail(ctx, tx, username)
	return fabUserErr(u, username, err)
}

func (s *Server) getFABUsers(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	page := q.page("id")
	if err := q.err(); err != nil {
		return err
	}
	users, total, err := metadb.ListUsersPage(r.Context(), s.db.Pool, page)
	if err != nil {
		return err
	}
	out := fabUserCollection{Users: make([]fabUserResponse, 0, len(users)), TotalEntries: total}
	for _, u := range users {
		out.Users = append(out.Users, fabUserOf(u))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getFABUser(w http.ResponseWriter, r *http.Request) error {
	u, err := readFABUser(r.Context(), s.db.Pool, r.PathValue("username"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fabUserOf(u))
	return nil
}

// userFields are the fields of a UserBody or UserPatchBody (nil: not
// given). active is gust's: FAB's bodies cannot (de)activate a user.
type userFields struct {
	username, email, firstName, lastName, password *string
	role                                           *auth.Role
	active                                         *bool
}

// userFieldNames are the body fields, which update_mask may name.
var userFieldNames = []string{"username", "email", "first_name", "last_name", "roles", "password", "active"}

// parseUserBody reads a user body; create requires username and password.
func parseUserBody(o *object, create bool) (userFields, error) {
	o.only(userFieldNames...)
	var f userFields
	flags := nullable
	if create {
		flags = required
	}
	f.username = o.str("username", flags, 256)
	f.password = o.str("password", flags, 0)
	f.email = o.str("email", nullable, 256)
	f.firstName = o.str("first_name", nullable, 256)
	f.lastName = o.str("last_name", nullable, 256)
	f.active = o.boolean("active", nullable)
	if f.username != nil && strings.TrimSpace(*f.username) == "" {
		o.fail("username", "String should have at least 1 character", "string_too_short", *f.username)
	}
	if b, ok := o.value("roles", nullable); ok {
		var refs []fabRoleRef
		if err := json.Unmarshal(b, &refs); err != nil {
			o.fail("roles", "Input should be a valid list of objects with a name", "list_type", inputOf(b))
		} else {
			role, err := oneRole(refs)
			if err != nil {
				if e := o.err(); e != nil {
					return f, e
				}
				return f, err
			}
			f.role = role
		}
	}
	return f, o.err()
}

// oneRole reads FAB's role list into gust's one role: an empty list is
// none (nil), unknown names are 400 as FAB's, more than one role is 400.
func oneRole(refs []fabRoleRef) (*auth.Role, error) {
	var roles []auth.Role
	var unknown []string
	for _, ref := range refs {
		role, err := auth.ParseRole(ref.Name)
		if err != nil {
			unknown = append(unknown, "'"+ref.Name+"'")
			continue
		}
		if !slices.Contains(roles, role) {
			roles = append(roles, role)
		}
	}
	switch {
	case len(unknown) > 0:
		return nil, errorf(http.StatusBadRequest, "Unknown roles: %s (gust's roles are Viewer, User, Op and Admin)", strings.Join(unknown, ", "))
	case len(roles) > 1:
		return nil, errorf(http.StatusBadRequest, "A gust user has exactly one role; got %d", len(roles))
	case len(roles) == 0:
		return nil, nil
	}
	return &roles[0], nil
}

// checkPassword hashes a new password, or answers why it cannot be one.
func checkPassword(pw string) (string, error) {
	h, err := auth.HashPassword(pw)
	if err != nil {
		return "", errorf(http.StatusBadRequest, "Invalid password: %s", err.Error())
	}
	return h, nil
}

func orEmpty(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s *Server) postFABUser(w http.ResponseWriter, r *http.Request) error {
	o, err := readObject(r)
	if err != nil {
		return err
	}
	f, err := parseUserBody(o, true)
	if err != nil {
		return err
	}
	role := auth.Viewer // FAB's registration role; gust has no Public
	if f.role != nil {
		role = *f.role
	}
	hash, err := checkPassword(*f.password)
	if err != nil {
		return err
	}
	ctx := r.Context()
	u := &metadb.User{Username: *f.username, Email: orEmpty(f.email), FirstName: orEmpty(f.firstName),
		LastName: orEmpty(f.lastName), Role: role.String()}
	err = s.db.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := readFABUser(ctx, tx, u.Username); err == nil {
			return errorf(http.StatusConflict, "Username `%s` already exists. Use PATCH to update.", u.Username)
		} else if !isStatus(err, http.StatusNotFound) {
			return err
		}
		if err := s.emailFree(ctx, tx, u.Email, u.Username); err != nil {
			return err
		}
		if err := metadb.CreateUser(ctx, tx, u, hash); err != nil {
			return err
		}
		if f.active != nil && !*f.active {
			return metadb.UpdateUser(ctx, tx, u.Username, metadb.UserChange{Active: f.active})
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.audit(r, "create_user", metadb.Event{}, map[string]any{"username": u.Username, "role": u.Role})
	created, err := readFABUser(ctx, s.db.Pool, u.Username)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fabUserOf(created))
	return nil
}

// emailFree refuses an e-mail address another user has (as FAB's unique
// e-mails); gust allows users without one.
func (s *Server) emailFree(ctx context.Context, q metadb.DBTX, email, username string) error {
	if email == "" {
		return nil
	}
	taken, err := metadb.EmailTaken(ctx, q, email, username)
	if err != nil {
		return err
	}
	if taken {
		return errorf(http.StatusConflict, "The email `%s` is already taken.", email)
	}
	return nil
}

func isStatus(err error, status int) bool {
	var he *httpError
	return errors.As(err, &he) && he.status == status
}

// keepAnAdmin refuses a change that would leave no active Admin.
func keepAnAdmin(ctx context.Context, tx pgx.Tx, username string) error {
	admins, err := metadb.LockActiveAdmins(ctx, tx)
	if err != nil {
		return err
	}
	if len(admins) == 1 && admins[0] == username {
		return errorf(http.StatusConflict, "`%s` is the last active Admin: make another user Admin first", username)
	}
	return nil
}

func (s *Server) patchFABUser(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("username")
	q := newQuery(r)
	var mask []string
	for _, m := range q.list("update_mask") {
		for _, f := range strings.Split(m, ",") {
			if f = strings.TrimSpace(f); f != "" {
				mask = append(mask, f)
			}
		}
	}
	var unknown []string
	for _, m := range mask {
		if !slices.Contains(userFieldNames, m) {
			unknown = append(unknown, "'"+m+"'")
		}
	}
	if len(unknown) > 0 {
		return errorf(http.StatusBadRequest, "Unknown update masks: %s", strings.Join(unknown, ", "))
	}
	o, err := readObject(r)
	if err != nil {
		return err
	}
	f, err := parseUserBody(o, false)
	if err != nil {
		return err
	}
	if len(mask) > 0 {
		keep := func(field string) bool { return slices.Contains(mask, field) }
		if !keep("username") {
			f.username = nil
		}
		if !keep("email") {
			f.email = nil
		}
		if !keep("first_name") {
			f.firstName = nil
		}
		if !keep("last_name") {
			f.lastName = nil
		}
		if !keep("roles") {
			f.role = nil
		}
		if !keep("password") {
			f.password = nil
		}
		if !keep("active") {
			f.active = nil
		}
	}
	if f.username != nil && *f.username == name {
		f.username = nil
	}
	me := caller(r.Context()).Username
	if name == me {
		switch {
		case f.username != nil:
			return errorf(http.StatusBadRequest, "You cannot rename your own user (your session would end); ask another Admin")
		case f.role != nil && *f.role != auth.Admin:
			return errorf(http.StatusBadRequest, "You cannot remove your own Admin role; ask another Admin")
		case f.active != nil && !*f.active:
			return errorf(http.StatusBadRequest, "You cannot deactivate your own user; ask another Admin")
		}
	}
	var hash string
	if f.password != nil {
		if hash, err = checkPassword(*f.password); err != nil {
			return err
		}
	}
	ctx := r.Context()
	final := name
	err = s.db.InTx(ctx, func(tx pgx.Tx) error {
		u, err := lockFABUser(ctx, tx, name)
		if err != nil {
			return err
		}
		demoted := (f.role != nil && *f.role != auth.Admin) || (f.active != nil && !*f.active)
		if u.Role == auth.Admin.String() && u.Active && demoted {
			if err := keepAnAdmin(ctx, tx, name); err != nil {
				return err
			}
		}
		if f.username != nil {
			if _, err := readFABUser(ctx, tx, *f.username); err == nil {
				return errorf(http.StatusConflict, "Username `%s` already exists.", *f.username)
			} else if !isStatus(err, http.StatusNotFound) {
				return err
			}
			final = *f.username
		}
		if f.email != nil {
			if err := s.emailFree(ctx, tx, *f.email, name); err != nil {
				return err
			}
		}
		var role *string
		if f.role != nil {
			rs := f.role.String()
			role = &rs
		}
		ch := metadb.UserChange{Username: f.username, Email: f.email, FirstName: f.firstName, LastName: f.lastName,
			Role: role, Active: f.active}
		if err := metadb.UpdateUser(ctx, tx, name, ch); err != nil {
			return err
		}
		if hash != "" {
			return metadb.SetPassword(ctx, tx, final, hash)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.audit(r, "patch_user", metadb.Event{}, map[string]any{"username": name, "update_mask": mask, "changed": f.changed()})
	u, err := readFABUser(ctx, s.db.Pool, final)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fabUserOf(u))
	return nil
}

// changed is what the audit log keeps of a patch: the new values, and for
// a password only that it changed.
func (f userFields) changed() map[string]any {
	out := map[string]any{}
	if f.username != nil {
		out["username"] = *f.username
	}
	if f.email != nil {
		out["email"] = *f.email
	}
	if f.firstName != nil {
		out["first_name"] = *f.firstName
	}
	if f.lastName != nil {
		out["last_name"] = *f.lastName
	}
	if f.role != nil {
		out["roles"] = []string{f.role.String()}
	}
	if f.active != nil {
		out["active"] = *f.active
	}
	if f.password != nil {
		out["password"] = redacted
	}
	return out
}

func (s *Server) deleteFABUser(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("username")
	if name == caller(r.Context()).Username {
		return errorf(http.StatusBadRequest, "You cannot delete your own user; ask another Admin")
	}
	ctx := r.Context()
	err := s.db.InTx(ctx, func(tx pgx.Tx) error {
		u, err := lockFABUser(ctx, tx, name)
		if err != nil {
			return err
		}
		if u.Role == auth.Admin.String() && u.Active {
			if err := keepAnAdmin(ctx, tx, name); err != nil {
				return err
			}
		}
		return metadb.DeleteUser(ctx, tx, name)
	})
	if err != nil {
		return err
	}
	s.audit(r, "delete_user", metadb.Event{}, map[string]any{"username": name})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// fabAction is FAB's ActionResource: a permission on a resource.
type fabAction struct {
	Action   fabRoleRef `json:"action"`
	Resource fabRoleRef `json:"resource"`
}

type fabRoleResponse struct {
	Name    string      `json:"name"`
	Actions []fabAction `json:"actions"`
}

type fabRoleCollection struct {
	Roles        []fabRoleResponse `json:"roles"`
	TotalEntries int               `json:"total_entries"`
}

// roleGrants are what each role adds to the one before it, in FAB's
// action and resource names.
var roleGrants = []struct {
	role   auth.Role
	grants [][2]string // action, resource
}{
	{auth.Viewer, [][2]string{{"can_read", "DAGs"}, {"can_read", "DAG Runs"}, {"can_read", "Task Instances"},
		{"can_read", "Task Logs"}, {"can_read", "XComs"}, {"can_read", "Audit Logs"}, {"can_read", "ImportError"},
		{"can_read", "Jobs"}, {"can_read", "Pools"}, {"can_read", "Variables"}, {"can_read", "Connections"}}},
	{auth.User, [][2]string{{"can_edit", "DAGs"}, {"can_create", "DAG Runs"}, {"can_edit", "DAG Runs"},
		{"can_edit", "Task Instances"}, {"can_delete", "DAG Runs"}}},
	{auth.Op, [][2]string{{"can_create", "Pools"}, {"can_edit", "Pools"}, {"can_delete", "Pools"},
		{"can_create", "Variables"}, {"can_edit", "Variables"}, {"can_delete", "Variables"},
		{"can_create", "Connections"}, {"can_edit", "Connections"}, {"can_delete", "Connections"}}},
	{auth.Admin, [][2]string{{"can_read", "Users"}, {"can_create", "Users"}, {"can_edit", "Users"},
		{"can_delete", "Users"}, {"can_read", "Roles"}, {"can_read", "Configurations"}}},
}

// fabRoles are gust's four roles with their permissions, weakest first.
func fabRoles() []fabRoleResponse {
	var out []fabRoleResponse
	var acc []fabAction
	for _, g := range roleGrants {
		for _, p := range g.grants {
			acc = append(acc, fabAction{Action: fabRoleRef{Name: p[0]}, Resource: fabRoleRef{Name: p[1]}})
		}
		out = append(out, fabRoleResponse{Name: g.role.String(), Actions: slices.Clone(acc)})
	}
	return out
}

// getFABRoles lists the roles (order_by name or -name; gust's roles are
// fixed, so the list is built, not read).
func (s *Server) getFABRoles(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	page := q.page("name")
	if err := q.err(); err != nil {
		return err
	}
	roles := fabRoles()
	for _, o := range page.OrderBy {
		switch o {
		case "name":
			slices.SortStableFunc(roles, func(a, b fabRoleResponse) int { return strings.Compare(a.Name, b.Name) })
		case "-name":
			slices.SortStableFunc(roles, func(a, b fabRoleResponse) int { return strings.Compare(b.Name, a.Name) })
		default:
			return errorf(http.StatusBadRequest, "Ordering with '%s' is disallowed or the attribute does not exist on the model", strings.TrimPrefix(o, "-"))
		}
	}
	total := len(roles)
	lo := min(page.Offset, total)
	hi := min(lo+page.Limit, total)
	writeJSON(w, http.StatusOK, fabRoleCollection{Roles: roles[lo:hi], TotalEntries: total})
	return nil
}

func (s *Server) getFABRole(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	for _, role := range fabRoles() {
		if role.Name == name {
			writeJSON(w, http.StatusOK, role)
			return nil
		}
	}
	return errorf(http.StatusNotFound, "Role with name `%s` not found", name)
}
