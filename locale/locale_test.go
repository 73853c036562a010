package locale

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]string{"de-at": "de-AT", "fr": "fr", "pt-br": "pt-BR", "zh-hant-tw": "zh-Hant-TW", "gsw": "gsw"} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "und", "und-AT", "x-klingon", "deutsch_AT", "de-", "12", "Klingonisch!"} {
		if got, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %q, want an error", bad, got)
		}
	}
}

func TestChoose(t *testing.T) {
	available := []string{"en", "de", "fr"}
	for _, tt := range []struct {
		want []string
		lang string
	}{
		{[]string{"de-AT"}, "de"},
		{[]string{"de-CH", "fr"}, "de"},
		{[]string{"nl", "fr"}, "fr"},
		{[]string{"nl", "pt"}, "en"},
		{[]string{"", ""}, "en"},
		{[]string{"!!", "fr-BE"}, "fr"},
	} {
		if got := available[Choose(available, tt.want...)]; got != tt.lang {
			t.Errorf("Choose(%q) = %s, want %s", tt.want, got, tt.lang)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tt := range []struct{ tag, num, pct, date string }{
		{"en", "1,234,567.5", "1.5%", "March 1, 2026"},
		{"de", "1.234.567,5", "1,5\u00a0%", "1. März 2026"},
		{"fr", "1\u00a0234\u00a0567,5", "1,5\u00a0%", "1er mars 2026"},
	} {
		f := For(First(tt.tag))
		if got := f.Number("", "1234567", "5"); got != tt.num {
			t.Errorf("%s number %q, want %q", tt.tag, got, tt.num)
		}
		if got := f.Percent(f.Number("", "1", "5")); got != tt.pct {
			t.Errorf("%s percent %q, want %q", tt.tag, got, tt.pct)
		}
		if got := f.Date(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)); got != tt.date {
			t.Errorf("%s date %q, want %q", tt.tag, got, tt.date)
		}
	}
}

func TestWords(t *testing.T) {
	for _, tt := range []struct{ lang, en, want string }{
		{"de", "Growth (%)", "Wachstum (%)"}, {"fr", "Bounce rate", "Taux de rebond"}, {"en", "Growth (%)", "Growth (%)"},
		{"de", "Not a label", "Not a label"}, {"de-AT", "Approve", "Freigeben"},
	} {
		if got := Word(First(tt.lang), tt.en); got != tt.want {
			t.Errorf("Word(%s, %q) = %q, want %q", tt.lang, tt.en, got, tt.want)
		}
	}
	if got := Category(First("de"), "ai"); got != "KI" {
		t.Errorf("Category(de, ai) = %q", got)
	}
}

// TestReordered: German puts the verb last; the catalog's indexed
// arguments let it.
func TestReordered(t *testing.T) {
	got := Printer(First("de")).Sprintf("%[1]s by %[2]s at %[3]s", "freigegeben", "Kim", "5. März 2026")
	if got != "am 5. März 2026 von Kim freigegeben" {
		t.Errorf("%q", got)
	}
	if got := Printer(First("en")).Sprintf("%[1]s by %[2]s at %[3]s", "approved", "Kim", "2026-03-05T10:00:00Z"); got != "approved by Kim at 2026-03-05T10:00:00Z" {
		t.Errorf("%q", got)
	}
}
