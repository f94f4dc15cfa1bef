package alignment

import (
	"fmt"
	"strings"

	resourceapi "k8s.io/api/resource/v1"
)

// explain says why no value of attribute aligns the requirements on a
// node. The text depends only on what the node offers, never on map
// order, so that the scheduler can fold identical per-node reasons into
// "N node(s) ...".
//
// When some requirement falls short on every value by itself, those are
// named with the most the node offers them:
//
//	claim default/train-0: no resource.kubernetes.io/numaNode value on this node has 5 devices for request "gpus" (most: 4 with numaNode=0)
//
// Otherwise each fits somewhere, but not together, and the value that
// comes closest is shown:
//
//	claim default/train-0: no resource.kubernetes.io/numaNode value on this node has enough devices for requests "gpus", "nic" together (best: numaNode=0 with 4/4 for "gpus", 0/1 for "nic")
func explain(claim string, attribute resourceapi.FullyQualifiedName, tallies []tally) string {
	short := string(attribute)
	if i := strings.LastIndex(short, "/"); i >= 0 {
		short = short[i+1:]
	}
	prefix := fmt.Sprintf("claim %s: no %s value on this node has ", claim, attribute)

	var shortfalls []string
	for _, t := range tallies {
		best, most := t.most()
		if most >= t.need {
			continue
		}
		var offer string
		switch {
		case most > 0:
			offer = fmt.Sprintf("most: %d with %s=%s", most, short, best)
		case t.matching > 0:
			offer = fmt.Sprintf("%s %s %s", count(t.lacking, "matching device"), verb(t.lacking, "lacks", "lack"), short)
		case t.tooSmall > 0:
			offer = fmt.Sprintf("%s too small for %s", count(t.tooSmall, "matching device"), t.capacity)
		default:
			offer = "no matching devices"
		}
		shortfalls = append(shortfalls, fmt.Sprintf("%s for request %q (%s)", count(t.need, "device"), t.request, offer))
	}
	if len(shortfalls) > 0 {
		return prefix + strings.Join(shortfalls, ", nor ")
	}

	best := closest(tallies)
	names := make([]string, len(tallies))
	offers := make([]string, len(tallies))
	for i, t := range tallies {
		names[i] = fmt.Sprintf("%q", t.request)
		offers[i] = fmt.Sprintf("%d/%d for %q", min(t.counts[best], t.need), t.need, t.request)
	}
	return fmt.Sprintf("%senough devices for requests %s together (best: %s=%s with %s)",
		prefix, strings.Join(names, ", "), short, best, strings.Join(offers, ", "))
}

// most returns the value with the most devices, the lowest on a tie.
func (t tally) most() (value, int64) {
	var best value
	var most int64
	for v, n := range t.counts {
		if n > most || (n == most && compareValues(v, best) < 0) {
			best, most = v, n
		}
	}
	return best, most
}

// closest returns the value that satisfies the most requirements, then
// covers the most of what is missing, then sorts first.
func closest(tallies []tally) value {
	var best value
	bestFits, bestCover := -1, int64(-1)
	for _, t := range tallies {
		for v := range t.counts {
			n, cover := fits(v, tallies), int64(0)
			for _, u := range tallies {
				cover += min(u.counts[v], u.need)
			}
			if n > bestFits || (n == bestFits && (cover > bestCover || (cover == bestCover && compareValues(v, best) < 0))) {
				best, bestFits, bestCover = v, n, cover
			}
		}
	}
	return best
}

func count(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func verb(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
