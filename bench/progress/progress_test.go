package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// clock is a fake clock that the test moves by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

type step struct {
	after       time.Duration
	task        string
	done, total int
}

func TestPlainLines(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []step
		want  []string
	}{
		{
			name:  "first update shows, without a rate",
			steps: []step{{0, "hadron", 0, 100}},
			want:  []string{"hadron: 0/100 (0%)"},
		},
		{
			name: "updates within the interval are folded",
			steps: []step{
				{0, "hadron", 1, 100},
				{time.Second, "hadron", 10, 100},
				{DefaultLogEvery, "hadron", 40, 100},
			},
			want: []string{
				"hadron: 1/100 (1%)",
				"hadron: 40/100 (40%), 2.5/s, ETA 24s",
			},
		},
		{
			name: "the last step always shows, with the time taken",
			steps: []step{
				{0, "default", 1, 50},
				{10 * time.Second, "default", 50, 50},
			},
			want: []string{
				"default: 1/50 (2%)",
				"default: 50/50 (100%), 5.0/s, took 10s",
			},
		},
		{
			name: "a new task restarts the rate",
			steps: []step{
				{0, "default", 1, 10},
				{time.Second, "hadron", 1, 10},
				{DefaultLogEvery, "hadron", 4, 10},
			},
			want: []string{
				"default: 1/10 (10%)",
				"hadron: 1/10 (10%)",
				"hadron: 4/10 (40%), 0.3/s, ETA 23s",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			b := New(&out, WithClock(c.now), WithTerminal(false))
			for _, s := range tc.steps {
				c.advance(s.after)
				b.Update(s.task, s.done, s.total)
			}
			b.Finish()
			got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestTerminalRedrawsOneLine(t *testing.T) {
	var out bytes.Buffer
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := New(&out, WithClock(c.now), WithTerminal(true))
	b.Update("hadron", 0, 4)
	c.advance(time.Second)
	b.Update("hadron", 2, 4)
	c.advance(time.Second)
	b.Update("hadron", 4, 4)
	want := "\r\x1b[Khadron [                              ] 0/4 (0%)" +
		"\r\x1b[Khadron [===============               ] 2/4 (50%), 2.0/s, ETA 1s" +
		"\r\x1b[Khadron [==============================] 4/4 (100%), 2.0/s, took 2s\n"
	if out.String() != want {
		t.Errorf("output %q\nwant   %q", out.String(), want)
	}
	b.Finish() // the line is already ended: nothing more
	if out.String() != want {
		t.Errorf("Finish wrote %q", strings.TrimPrefix(out.String(), want))
	}
}

func TestBar(t *testing.T) {
	for _, tc := range []struct {
		done, total, filled int
	}{
		{0, 0, 0},
		{5, 0, 0},
		{-1, 10, 0},
		{5, 10, barWidth / 2},
		{20, 10, barWidth},
	} {
		got := bar(tc.done, tc.total)
		if len(got) != barWidth || strings.Count(got, "=") != tc.filled {
			t.Errorf("bar(%d, %d) = %q, want %d of %d cells filled", tc.done, tc.total, got, tc.filled, barWidth)
		}
	}
}
