package metadb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// User is one row of users (the password hash is never listed).
type User struct {
	ID        int64      `json:"id"`
	Username  string     `json:"username"`
	Email     string     `json:"email"`
	FirstName string     `json:"first_name"`
	LastName  string     `json:"last_name"`
	Role      string     `json:"role"`
	Active    bool       `json:"active"`
	CreatedAt time.Time  `json:"created_at"`
	LastLogin *time.Time `json:"last_login"`
}

const userColumns = `id, username, email, first_name, last_name, role, active, created_at, last_login`

func scanUser(row pgx.Row) (*User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Username, &u.Email, &u.FirstName, &u.LastName, &u.Role, &u.Active, &u.CreatedAt, &u.LastLogin)
	return &u, err
}

// CreateUser stores a new user; an existing username is refused.
func CreateUser(ctx context.Context, q DBTX, u *User, passwordHash string) error {
	err := q.QueryRow(ctx, `INSERT INTO users (username, email, first_name, last_name, role, password_hash)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, created_at`,
		u.Username, u.Email, u.FirstName, u.LastName, u.Role, passwordHash).Scan(&u.ID, &u.CreatedAt)
	if IsUniqueViolation(err) {
		return fmt.Errorf("user %s already exists", u.Username)
	}
	if err != nil {
		return fmt.Errorf("create user %s: %w", u.Username, err)
	}
	u.Active = true
	return nil
}

// ListUsers returns every user by username.
func ListUsers(ctx context.Context, q DBTX) ([]*User, error) {
	rows, err := q.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	us, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return us, nil
}

// GetUser returns one user, or ErrNotFound.
func GetUser(ctx context.Context, q DBTX, username string) (*User, error) {
	u, err := scanUser(q.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE username = $1`, username))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("user %s: %w", username, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get user %s: %w", username, err)
	}
	return u, nil
}

// DeleteUser deletes a user, or returns ErrNotFound.
func DeleteUser(ctx context.Context, q DBTX, username string) error {
	tag, err := q.Exec(ctx, `DELETE FROM users WHERE username = $1`, username)
	if err != nil {
		return fmt.Errorf("delete user %s: %w", username, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("user %s: %w", username, ErrNotFound)
	}
	return nil
}

// SetPassword replaces a user's password hash and lifts any login delay.
func SetPassword(ctx context.Context, q DBTX, username, passwordHash string) error {
	tag, err := q.Exec(ctx, `UPDATE users SET password_hash = $2, failed_logins = 0, locked_until = NULL WHERE username = $1`,
		username, passwordHash)
	if err != nil {
		return fmt.Errorf("set password of %s: %w", username, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("user %s: %w", username, ErrNotFound)
	}
	return nil
}

// LoginState is what a login needs to know about a user.
type LoginState struct {
	User         *User
	PasswordHash string
	LockedUntil  *time.Time
}

// GetLoginState returns a user's hash and login delay, or ErrNotFound.
func GetLoginState(ctx context.Context, q DBTX, username string) (*LoginState, error) {
	var ls LoginState
	var u User
	err := q.QueryRow(ctx, `SELECT `+userColumns+`, password_hash, locked_until FROM users WHERE username = $1`, username).
		Scan(&u.ID, &u.Username, &u.Email, &u.FirstName, &u.LastName, &u.Role, &u.Active, &u.CreatedAt, &u.LastLogin,
			&ls.PasswordHash, &ls.LockedUntil)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("user %s: %w", username, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get user %s: %w", username, err)
	}
	ls.User = &u
	return &ls, nil
}

// RecordLogin notes a successful login: the failure count starts again.
func RecordLogin(ctx context.Context, q DBTX, username string) error {
	_, err := q.Exec(ctx, `UPDATE users SET last_login = now(), failed_logins = 0, locked_until = NULL WHERE username = $1`, username)
	if err != nil {
		return fmt.Errorf("record login of %s: %w", username, err)
	}
	return nil
}

// RecordFailedLogin counts a failed login; from the fifth in a row on, the
// next login must wait 2^(n-5) seconds, at most 5 minutes. All api-servers
// share the count, so spreading guesses over servers does not help.
func RecordFailedLogin(ctx context.Context, q DBTX, username string) error {
	_, err := q.Exec(ctx, `UPDATE users SET failed_logins = failed_logins + 1,
		locked_until = CASE WHEN failed_logins + 1 >= 5
			THEN now() + least(power(2, failed_logins + 1 - 5), 300) * interval '1 second' END
		WHERE username = $1`, username)
	if err != nil {
		return fmt.Errorf("record failed login of %s: %w", username, err)
	}
	return nil
}

// The users API's queries: a user with its failed logins, a page of
// users, the checks and locks its writes need, and a partial update.

// UserDetail is a user with its failed logins in a row, as the users API
// shows it.
type UserDetail struct {
	User
	FailedLogins int
}

const userDetailColumns = userColumns + `, failed_logins`

func scanUserDetail(row pgx.Row) (*UserDetail, error) {
	var u UserDetail
	err := row.Scan(&u.ID, &u.Username, &u.Email, &u.FirstName, &u.LastName, &u.Role, &u.Active, &u.CreatedAt,
		&u.LastLogin, &u.FailedLogins)
	return &u, err
}

// GetUserDetail returns one user with its failed logins, or ErrNotFound.
func GetUserDetail(ctx context.Context, q DBTX, username string) (*UserDetail, error) {
	return getUserDetail(ctx, q, `SELECT `+userDetailColumns+` FROM users WHERE username = $1`, username)
}

// LockUserDetail is GetUserDetail with the row locked until tx ends.
func LockUserDetail(ctx context.Context, tx pgx.Tx, username string) (*UserDetail, error) {
	return getUserDetail(ctx, tx, `SELECT `+userDetailColumns+` FROM users WHERE username = $1 FOR UPDATE`, username)
}

func getUserDetail(ctx context.Context, q DBTX, sql, username string) (*UserDetail, error) {
	u, err := scanUserDetail(q.QueryRow(ctx, sql, username))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("user %s: %w", username, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get user %s: %w", username, err)
	}
	return u, nil
}

// userOrder maps the users API's order_by names to columns.
var userOrder = map[string]string{
	"id": "id", "user_id": "id", "username": "username", "email": "email", "first_name": "first_name",
	"last_name": "last_name", "active": "active", "last_login": "last_login", "created_on": "created_at",
	"fail_login_count": "failed_logins", "role": "role", "roles": "role",
}

// ListUsersPage returns a page of users (ordered by page.OrderBy, then id)
// and the number of users.
func ListUsersPage(ctx context.Context, q DBTX, page Page) ([]*UserDetail, int, error) {
	order, err := page.orderBy(userOrder, "id")
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count users: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT `+userDetailColumns+` FROM users ORDER BY `+order+` LIMIT $1 OFFSET $2`,
		page.Limit, page.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	us, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*UserDetail, error) { return scanUserDetail(r) })
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	return us, total, nil
}

// EmailTaken reports whether a user other than username has the e-mail
// address email; the empty address is never taken.
func EmailTaken(ctx context.Context, q DBTX, email, username string) (bool, error) {
	var taken bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE email = $1 AND email <> '' AND username <> $2)`,
		email, username).Scan(&taken)
	if err != nil {
		return false, fmt.Errorf("check e-mail %s: %w", email, err)
	}
	return taken, nil
}

// LockActiveAdmins locks every active Admin until tx ends and returns
// their usernames, so that two Admins demoting each other cannot leave
// none.
func LockActiveAdmins(ctx context.Context, tx pgx.Tx) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT username FROM users WHERE role = 'Admin' AND active ORDER BY id FOR UPDATE`)
	if err != nil {
		return nil, fmt.Errorf("lock the admins: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("lock the admins: %w", err)
	}
	return names, nil
}

// UserChange is a partial update of a user: nil fields keep their value.
type UserChange struct {
	Username, Email, FirstName, LastName, Role *string
	Active                                     *bool
}

// UpdateUser applies ch to the user username. A missing user is not an
// error: callers lock the row first.
func UpdateUser(ctx context.Context, q DBTX, username string, ch UserChange) error {
	_, err := q.Exec(ctx, `UPDATE users SET username = coalesce($2, username), email = coalesce($3, email),
		first_name = coalesce($4, first_name), last_name = coalesce($5, last_name), role = coalesce($6, role),
		active = coalesce($7, active) WHERE username = $1`,
		username, ch.Username, ch.Email, ch.FirstName, ch.LastName, ch.Role, ch.Active)
	if err != nil {
		return fmt.Errorf("update user %s: %w", username, err)
	}
	return nil
}
