package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/delivery"
)

// ArchiveFormat is the format an archive's header names.
const ArchiveFormat = "herald-audit-archive/v1"

// An archive is JSON lines: an ArchiveHeader, then the rows in sequence
// order, one JSONRow a line. The header's checkpoint is signed at the
// last row, and each row's hash covers the one before, so the checkpoint
// vouches for every row: an archive verifies with the signing key alone,
// without the database.

// ArchiveHeader is an archive's first line.
type ArchiveHeader struct {
	Format   string    `json:"format"`
	TenantID uuid.UUID `json:"tenant_id"`
	// Before is the export's --before: the rows are those older than it
	// that retention had not pruned.
	Before     time.Time `json:"before"`
	ExportedAt time.Time `json:"exported_at"`
	FirstSeq   int64     `json:"first_seq"`
	LastSeq    int64     `json:"last_seq"`
	Rows       int64     `json:"rows"`
	// Checkpoint is signed at LastSeq.
	Checkpoint Checkpoint `json:"checkpoint"`
}

// JSONRow is a row as Herald writes it in JSON (GET /v1/audit and each
// line of an archive after the header): the row as stored, less its
// tenant, with hashes in hex.
type JSONRow struct {
	ID          int64           `json:"id"`
	Seq         int64           `json:"seq"`
	DeliveryID  uuid.UUID       `json:"delivery_id"`
	EventID     uuid.UUID       `json:"event_id"`
	Recipient   string          `json:"recipient"`
	Channel     channel.Channel `json:"channel"`
	Status      delivery.Status `json:"status"`
	Reason      delivery.Reason `json:"reason"`
	ContentHash Hex             `json:"content_hash"`
	At          time.Time       `json:"at"`
	PrevHash    Hex             `json:"prev_hash"`
	Hash        Hex             `json:"hash"`
}

// JSONRowOf is r as written in JSON.
func JSONRowOf(r Row) JSONRow {
	return JSONRow{ID: r.ID, Seq: r.Seq, DeliveryID: r.DeliveryID, EventID: r.EventID, Recipient: r.Recipient,
		Channel: r.Channel, Status: r.Status, Reason: r.Reason, ContentHash: r.ContentHash, At: r.At.UTC(),
		PrevHash: r.PrevHash, Hash: r.Hash}
}

func (a JSONRow) row(tenant uuid.UUID) Row {
	return Row{ID: a.ID, TenantID: tenant, Seq: a.Seq, DeliveryID: a.DeliveryID, EventID: a.EventID, Recipient: a.Recipient,
		Channel: a.Channel, Status: a.Status, Reason: a.Reason, ContentHash: a.ContentHash, At: a.At, PrevHash: a.PrevHash, Hash: a.Hash}
}

// ArchiveWriter writes an archive.
type ArchiveWriter struct {
	enc *json.Encoder
}

// NewArchiveWriter writes the header; the rows follow with Write.
func NewArchiveWriter(w io.Writer, h ArchiveHeader) (*ArchiveWriter, error) {
	h.Format = ArchiveFormat
	enc := json.NewEncoder(w)
	if err := enc.Encode(h); err != nil {
		return nil, err
	}
	return &ArchiveWriter{enc: enc}, nil
}

// Write writes the next row.
func (aw *ArchiveWriter) Write(r Row) error { return aw.enc.Encode(JSONRowOf(r)) }

// ArchiveVerdict is what verifying an archive found.
type ArchiveVerdict struct {
	Header ArchiveHeader
	// Rows counts the rows checked.
	Rows int64
	// Broken is the first row (or line) that does not verify; nil: intact.
	Broken *Broken
}

// maxArchiveLine bounds one line: a row is about 600 bytes.
const maxArchiveLine = 64 << 10

// VerifyArchive checks an archive with the signing key: its header's
// checkpoint is signed and is the tenant's, every row hashes to what it
// holds and chains onto the one before, the sequence has no gaps, and the
// last row is the one the checkpoint holds. A row edited, removed or added
// anywhere is reported; an error means the archive could not be read as
// one, or its checkpoint is not Herald's.
func VerifyArchive(r io.Reader, signer *Signer) (ArchiveVerdict, error) {
	var out ArchiveVerdict
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxArchiveLine)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return out, fmt.Errorf("reading the archive: %w", err)
		}
		return out, errors.New("the archive is empty")
	}
	h := &out.Header
	if err := strict(sc.Bytes(), h); err != nil || h.Format != ArchiveFormat {
		return out, fmt.Errorf("the first line is not a %s header", ArchiveFormat)
	}
	cp := h.Checkpoint
	switch {
	case cp.TenantID != h.TenantID:
		return out, fmt.Errorf("the archive's checkpoint is tenant %s's, not %s's: the header was altered", cp.TenantID, h.TenantID)
	case !signer.Mine(cp):
		return out, errors.New("the archive's checkpoint was signed with another key than HERALD_SIGNING_KEY (or its key_id was altered)")
	case !signer.Valid(cp):
		return out, errors.New("the archive's checkpoint does not verify with HERALD_SIGNING_KEY: the header was altered")
	}
	var v *Verifier
	line := 1
	for sc.Scan() {
		line++
		var ar JSONRow
		if err := strict(sc.Bytes(), &ar); err != nil {
			out.Broken = &Broken{Problem: fmt.Sprintf("line %d is not an audit row: %v", line, err)}
			return out, nil
		}
		if v == nil {
			if ar.Seq != h.FirstSeq {
				out.Broken = &Broken{ID: ar.ID, Seq: ar.Seq, DeliveryID: ar.DeliveryID, Problem: fmt.Sprintf("the first row is seq %d, but the header says %d: rows at the start were removed or added", ar.Seq, h.FirstSeq)}
				return out, nil
			}
			// Rows before the first were pruned or exported before; the
			// checkpoint at the end vouches for this one's previous hash.
			v = ResumeVerifier(ar.Seq-1, ar.PrevHash)
			if ar.Seq == 1 {
				v = NewVerifier()
			}
			v.Expect(cp, "the archive's checkpoint", false)
		}
		if b := v.Check(ar.row(h.TenantID)); b != nil {
			out.Rows, out.Broken = v.Rows, b
			return out, nil
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("reading the archive at line %d: %w", line+1, err)
	}
	if v == nil {
		out.Broken = &Broken{Seq: h.FirstSeq, Problem: "the archive has no rows: they were removed"}
		return out, nil
	}
	out.Rows = v.Rows
	if end, _ := v.End(); end < cp.Seq {
		out.Broken = &Broken{Seq: end + 1, Problem: fmt.Sprintf("the archive ends at seq %d but its checkpoint is at seq %d: rows at its end were removed", end, cp.Seq)}
		return out, nil
	}
	if out.Broken = v.Finish(cp.Seq, cp.Hash); out.Broken == nil && out.Rows != h.Rows {
		out.Broken = &Broken{Seq: cp.Seq, Problem: fmt.Sprintf("the header counts %d rows but the archive has %d", h.Rows, out.Rows)}
	}
	return out, nil
}

// strict decodes one JSON value, refusing unknown fields and trailing data.
func strict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}
