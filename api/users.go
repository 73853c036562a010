package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/audience"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/delivery"
	"github.com/heraldhq/herald/locale"
)

func validID(field, id string) error {
	if !audience.ValidUserID(id) {
		return invalidField(field, "%s must be 1-128 characters of letters, digits and ._:@+-", field)
	}
	return nil
}

// userRequest is an upsert under the PUT rule (Field): left out keeps,
// null resets to the default (empty; role member), and an empty string
// clears (role excepted: it is always one of roles).
type userRequest struct {
	Email       Field[string] `json:"email"`
	Name        Field[string] `json:"name"`
	Timezone    Field[string] `json:"timezone"`
	Role        Field[string] `json:"role"`
	SlackUserID Field[string] `json:"slack_user_id"`
	// Locale is a BCP 47 tag, stored canonical (de-at is de-AT); null or
	// "" leaves the user on the tenant's default.
	Locale Field[string] `json:"locale"`
}

type userResponse struct {
	ID          string        `json:"id"`
	Email       string        `json:"email"`
	Name        string        `json:"name"`
	Timezone    string        `json:"timezone"`
	Role        audience.Role `json:"role"`
	SlackUserID string        `json:"slack_user_id"`
	Locale      *string       `json:"locale"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
}

func toUserResponse(u dbq.User) userResponse {
	var loc *string
	if u.Locale != "" {
		loc = &u.Locale
	}
	return userResponse{ID: u.ID, Email: u.Email, Name: u.Name, Timezone: u.Timezone, Role: u.Role,
		SlackUserID: u.SlackUserID, Locale: loc, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

func (r *userRequest) validate() error {
	if email, ok := r.Email.Given(); ok {
		email = strings.TrimSpace(email)
		r.Email.value = email
		if email != "" {
			a, err := mail.ParseAddress(email)
			if err != nil || a.Address != email {
				return invalidField("email", "email must be a plain address such as ada@example.com")
			}
		}
	}
	if tz, ok := r.Timezone.Given(); ok && tz != "" {
		if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
			return invalidField("timezone", "timezone must be an IANA zone such as Europe/Berlin")
		}
	}
	if tag, ok := r.Locale.Given(); ok && tag != "" {
		canonical, err := locale.Parse(tag)
		if err != nil {
			return invalidField("locale", "locale must be a BCP 47 language tag such as de-AT or fr")
		}
		r.Locale.value = canonical
	}
	if role, ok := r.Role.Given(); ok && !audience.Role(role).Valid() {
		return invalidField("role", "role must be owner, member or executive")
	}
	name, _ := r.Name.Given()
	slackID, _ := r.SlackUserID.Given()
	if len(name) > 200 || len(slackID) > 64 {
		return badRequest("name or slack_user_id is too long")
	}
	return nil
}

func (s *Server) putUser(c echo.Context) error {
	id := c.Param("id")
	if err := validID("id", id); err != nil {
		return err
	}
	var req userRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	row, err := dbq.New(s.pool).UpsertUser(c.Request().Context(), dbq.UpsertUserParams{
		TenantID: tenantOf(c).ID, ID: id, Email: req.Email.Patch(""), Name: req.Name.Patch(""),
		Timezone: req.Timezone.Patch(""), Role: req.Role.Patch(string(audience.Member)), SlackUserID: req.SlackUserID.Patch(""),
		Locale: req.Locale.Patch(""),
	})
	if err != nil {
		return err
	}
	if req.Timezone.Sent() && !row.Created {
		// Quiet hours without a zone of their own follow the user's.
		waiting, err := dbq.New(s.pool).EventsWaitingForUser(c.Request().Context(), dbq.EventsWaitingForUserParams{TenantID: tenantOf(c).ID, UserID: id})
		if err != nil {
			return fmt.Errorf("finding deliveries waiting for %s: %w", id, err)
		}
		s.reschedule(c.Request().Context(), tenantOf(c).ID, waiting, id)
	}
	status := http.StatusOK
	if row.Created {
		status = http.StatusCreated
	}
	return c.JSON(status, toUserResponse(dbq.User{ID: row.ID, Email: row.Email, Name: row.Name, Timezone: row.Timezone,
		Role: row.Role, SlackUserID: row.SlackUserID, Locale: row.Locale, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt}))
}

func (s *Server) getUser(c echo.Context) error {
	u, err := dbq.New(s.pool).GetUser(c.Request().Context(), dbq.GetUserParams{TenantID: tenantOf(c).ID, ID: c.Param("id")})
	if isNoRows(err) {
		return notFound("user")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toUserResponse(u))
}

// deleteUser removes a user with their inbox and cancels what has not been
// delivered to them yet, in one transaction: a user created later with the
// same ID must inherit nothing. The delivery log keeps its finished rows.
func (s *Server) deleteUser(c echo.Context) error {
	ctx, tenantID, id := c.Request().Context(), tenantOf(c).ID, c.Param("id")
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := dbq.New(tx)
		n, err := q.DeleteUser(ctx, dbq.DeleteUserParams{TenantID: tenantID, ID: id})
		if err != nil {
			return fmt.Errorf("deleting user: %w", err)
		}
		if n == 0 {
			return notFound("user")
		}
		if _, err := q.DeleteUserInbox(ctx, dbq.DeleteUserInboxParams{TenantID: tenantID, UserID: id}); err != nil {
			return fmt.Errorf("deleting inbox: %w", err)
		}
		if _, err := q.CancelUserDeliveries(ctx, dbq.CancelUserDeliveriesParams{TenantID: tenantID, UserID: id, Reason: delivery.UserDeleted}); err != nil {
			return fmt.Errorf("cancelling deliveries: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// rawJSON returns stored JSON as-is in a response.
func rawJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return json.RawMessage(b)
}
