package audit

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// archive writes rows[from-1:] as an archive signed at the last row.
func archive(t *testing.T, s *Signer, rows []Row, from int) string {
	t.Helper()
	last := rows[len(rows)-1]
	part := rows[from-1:]
	var b bytes.Buffer
	w, err := NewArchiveWriter(&b, ArchiveHeader{TenantID: last.TenantID, Before: time.Now(), ExportedAt: time.Now(),
		FirstSeq: part[0].Seq, LastSeq: last.Seq, Rows: int64(len(part)), Checkpoint: s.Sign(last.TenantID, last.Seq, last.Hash, time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range part {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

func TestArchiveVerifies(t *testing.T) {
	s := NewSigner(testKey)
	rows := chain(5)
	for _, from := range []int{1, 3} { // whole, and after an earlier prune
		v, err := VerifyArchive(strings.NewReader(archive(t, s, rows, from)), s)
		if err != nil || v.Broken != nil || v.Rows != int64(6-from) {
			t.Fatalf("an intact archive from seq %d: %v, broken %+v, %d rows", from, err, v.Broken, v.Rows)
		}
	}
}

func TestArchiveEditsAreCaught(t *testing.T) {
	s := NewSigner(testKey)
	good := archive(t, s, chain(5), 1)
	lines := strings.SplitAfter(good, "\n")
	edits := map[string]string{
		"recipient edited":   strings.Replace(good, `"recipient":"u1"`, `"recipient":"u2"`, 1),
		"status edited":      strings.Replace(good, `"status":"delivered"`, `"status":"failed"`, 2),
		"a middle row gone":  strings.Join(append(append([]string{}, lines[:3]...), lines[4:]...), ""),
		"the last row gone":  strings.Join(lines[:5], ""),
		"the first row gone": strings.Join(append([]string{lines[0]}, lines[2:]...), ""),
		"a row repeated":     strings.Join(append(append([]string{}, lines[:3]...), lines[2:]...), ""),
		"not a row":          good + "{\"seq\": 6, \"extra\": true}\n",
	}
	for name, text := range edits {
		v, err := VerifyArchive(strings.NewReader(text), s)
		if err != nil || v.Broken == nil {
			t.Errorf("%s: err %v, broken %+v; want a broken row", name, err, v.Broken)
		}
	}
	// The header is what the signature covers, or names the key.
	for name, text := range map[string]string{
		"checkpoint seq edited": strings.Replace(good, `"seq":5,"hash"`, `"seq":4,"hash"`, 1),
		"another key":           archive(t, NewSigner(testKey+"-other"), chain(2), 1),
		"empty":                 "",
		"not an archive":        "{}\n",
	} {
		if _, err := VerifyArchive(strings.NewReader(text), s); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}
