// Package progress shows how far a long benchmark has come: on a
// terminal, one line redrawn in place with a bar; elsewhere (CI logs,
// files), a plain line now and then, so that logs stay readable.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

const (
	// barWidth is the number of cells in the terminal bar.
	barWidth = 30
	// DefaultRedraw is how often, at most, the terminal line is redrawn.
	DefaultRedraw = 200 * time.Millisecond
	// DefaultLogEvery is how often, at most, a plain line is written when
	// the output is not a terminal.
	DefaultLogEvery = 15 * time.Second
)

// Bar reports the progress of named tasks (one at a time), each with a
// known total. It is safe for concurrent use.
type Bar struct {
	w        io.Writer
	terminal bool
	now      func() time.Time
	interval time.Duration

	mu        sync.Mutex
	task      string
	done      int
	total     int
	started   time.Time
	lastDraw  time.Time
	drawnOnce bool
	open      bool // a terminal line is drawn and not yet ended
}

// Option changes how a Bar reports.
type Option func(*Bar)

// WithClock makes the Bar read time from now instead of the wall clock.
func WithClock(now func() time.Time) Option {
	return func(b *Bar) { b.now = now }
}

// WithTerminal overrides the detection of a terminal.
func WithTerminal(terminal bool) Option {
	return func(b *Bar) { b.terminal = terminal }
}

// New returns a Bar writing to w; w is taken for a terminal when it is a
// character device, such as an interactive stderr.
func New(w io.Writer, opts ...Option) *Bar {
	b := &Bar{w: w, terminal: isTerminal(w), now: time.Now}
	for _, o := range opts {
		o(b)
	}
	b.interval = DefaultLogEvery
	if b.terminal {
		b.interval = DefaultRedraw
	}
	return b
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Update records that task has done of total steps. A new task name
// starts a new line and a new rate; the last step of a task always
// shows.
func (b *Bar) Update(task string, done, total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if task != b.task {
		b.endLine()
		b.task, b.started, b.drawnOnce = task, now, false
	}
	b.done, b.total = done, total
	finished := total > 0 && done >= total
	if b.drawnOnce && !finished && now.Sub(b.lastDraw) < b.interval {
		return
	}
	b.lastDraw, b.drawnOnce = now, true
	if b.terminal {
		fmt.Fprintf(b.w, "\r\x1b[K%s", b.line(now, true))
		b.open = true
		if finished {
			b.endLine()
		}
		return
	}
	fmt.Fprintln(b.w, b.line(now, false))
}

// Finish ends the terminal line, if one is drawn; call it before writing
// anything else to the same output.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.endLine()
}

func (b *Bar) endLine() {
	if b.open {
		fmt.Fprintln(b.w)
		b.open = false
	}
}

// line renders the current state: task, bar (terminal only), done/total,
// rate and the time left at that rate.
func (b *Bar) line(now time.Time, withBar bool) string {
	var s strings.Builder
	s.WriteString(b.task)
	if withBar {
		s.WriteString(" [" + bar(b.done, b.total) + "]")
	} else {
		s.WriteString(":")
	}
	fmt.Fprintf(&s, " %d/%d", b.done, b.total)
	if b.total > 0 {
		fmt.Fprintf(&s, " (%.0f%%)", 100*float64(min(b.done, b.total))/float64(b.total))
	}
	elapsed := now.Sub(b.started)
	if elapsed <= 0 || b.done <= 0 {
		return s.String()
	}
	rate := float64(b.done) / elapsed.Seconds()
	fmt.Fprintf(&s, ", %.1f/s", rate)
	if left := b.total - b.done; left > 0 {
		fmt.Fprintf(&s, ", ETA %s", eta(float64(left)/rate))
	} else {
		fmt.Fprintf(&s, ", took %s", elapsed.Round(time.Second))
	}
	return s.String()
}

// bar draws done/total as barWidth cells.
func bar(done, total int) string {
	filled := 0
	if total > 0 {
		filled = min(barWidth*max(done, 0)/total, barWidth)
	}
	return strings.Repeat("=", filled) + strings.Repeat(" ", barWidth-filled)
}

// eta formats seconds left, rounded to what a reader can use.
func eta(seconds float64) string {
	d := time.Duration(seconds * float64(time.Second))
	if d >= time.Hour {
		return d.Round(time.Minute).String()
	}
	return d.Round(time.Second).String()
}
