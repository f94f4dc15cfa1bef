package workspace

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// PrintList writes the workspaces as a table.
func PrintList(w io.Writer, list []Summary, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPROFILE\tPHASE\tNODE\tDEVICES\tNUMA\tAGE\tIDLE")
	for _, s := range list {
		idle := "-"
		if d := s.Idle(now); d > 0 {
			idle = duration.HumanDuration(d)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Profile, s.Phase, s.Node,
			deviceSummary(s.Devices), s.NUMA(), duration.HumanDuration(now.Sub(s.Created)), idle)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range list {
		if s.Reclaimed != "" {
			if _, err := fmt.Fprintf(w, "%s was reclaimed: %s\n", s.Name, s.Reclaimed); err != nil {
				return err
			}
		}
	}
	return nil
}

// PrintDetail writes one workspace in full.
func PrintDetail(w io.Writer, d Detail, now time.Time) error {
	var b strings.Builder
	field := func(name, value string) { fmt.Fprintf(&b, "%-14s %s\n", name+":", value) }
	field("Name", d.Name)
	field("Profile", d.Profile)
	field("Phase", d.Phase)
	field("Node", d.Node)
	field("Age", duration.HumanDuration(now.Sub(d.Created)))
	if d.Pod != nil {
		field("Idle timeout", d.Pod.Annotations[AnnotationIdleTimeout])
		field("Activity", d.Pod.Annotations[AnnotationActivitySignal])
	}
	if !d.LastActivity.IsZero() {
		field("Last activity", fmt.Sprintf("%s (%s ago)", d.LastActivity.Format(time.RFC3339), duration.HumanDuration(d.Idle(now))))
	}
	if d.Reclaimed != "" {
		field("Reclaimed", d.Reclaimed)
	}
	if d.Pending != nil {
		field("Pending", d.Pending.String())
	}
	if d.Pod != nil {
		for _, c := range d.Pod.Spec.Containers {
			field("Image", c.Image)
			field("Requests", resourceString(c.Resources.Requests))
			field("Limits", resourceString(c.Resources.Limits))
		}
	}
	if d.Service != nil {
		var ports []string
		for _, p := range d.Service.Spec.Ports {
			ports = append(ports, fmt.Sprintf("%s %d", p.Name, p.Port))
		}
		field("Service", fmt.Sprintf("%s (%s)", d.Service.Name, strings.Join(ports, ", ")))
	}
	b.WriteString("Claims:\n")
	if len(d.Claims) == 0 {
		b.WriteString("  none\n")
	}
	for _, c := range d.Claims {
		state := "not allocated"
		if c.Status.Allocation != nil {
			state = "allocated"
		}
		fmt.Fprintf(&b, "  %s (%s)\n", c.Name, state)
		for _, r := range c.Spec.Devices.Requests {
			if r.Exactly != nil {
				fmt.Fprintf(&b, "    request %s: %d× %s\n", r.Name, r.Exactly.Count, r.Exactly.DeviceClassName)
			}
		}
		for _, ct := range c.Spec.Devices.Constraints {
			if ct.MatchAttribute != nil {
				fmt.Fprintf(&b, "    aligned: %s on %s\n", strings.Join(ct.Requests, ", "), *ct.MatchAttribute)
			}
		}
		for _, dev := range d.Devices {
			if dev.Claim != c.Name {
				continue
			}
			numa := "-"
			if dev.NUMANode != nil {
				numa = fmt.Sprint(*dev.NUMANode)
			}
			fmt.Fprintf(&b, "    device %s for %s (pool %s, NUMA node %s)\n", dev, dev.Request, dev.Pool, numa)
		}
	}
	b.WriteString("Events:\n")
	if len(d.Events) == 0 {
		b.WriteString("  none\n")
	}
	for _, e := range d.Events {
		fmt.Fprintf(&b, "  %s ago\t%s\t%s\t%s: %s\n", duration.HumanDuration(now.Sub(eventTime(&e))), e.Type, e.InvolvedObject.Kind, e.Reason, e.Message)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func resourceString(list v1.ResourceList) string {
	if len(list) == 0 {
		return "-"
	}
	var parts []string
	for _, name := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory, v1.ResourceEphemeralStorage} {
		if q, ok := list[name]; ok {
			parts = append(parts, fmt.Sprintf("%s=%s", name, q.String()))
		}
	}
	return strings.Join(parts, " ")
}

// PrintQuota writes a tenant's usage and limits.
func PrintQuota(w io.Writer, r QuotaReport) error {
	fmt.Fprintf(w, "Tenant:     %s\n", r.Tenant)
	fmt.Fprintf(w, "Status:     %s\n", r.Status)
	fmt.Fprintf(w, "Namespaces: %s (usage counts across all of them)\n", strings.Join(r.Namespaces, ", "))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESOURCE\tUSED\tLIMIT")
	for _, res := range r.Resources {
		limit := res.Limit
		if limit == "" {
			limit = "unlimited"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", res.Name, res.Used, limit)
	}
	return tw.Flush()
}

// PrintProfiles writes the profiles as a table.
func PrintProfiles(w io.Writer, profiles []Profile) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tCPU\tMEMORY\tDEVICES\tIDLE\tDESCRIPTION")
	for _, p := range profiles {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.Resources.Requests["cpu"], p.Resources.Requests["memory"],
			describeDevices(p), idleSummary(p), p.Description)
	}
	return tw.Flush()
}

func idleSummary(p Profile) string {
	if p.IdleTimeout() == 0 {
		return "never"
	}
	return fmt.Sprintf("%s (%s)", p.Idle.Timeout, p.IdleSignal())
}

// ProfilesMarkdown is the profile table of docs/workspaces.md.
func ProfilesMarkdown(profiles []Profile) string {
	var b strings.Builder
	b.WriteString("| profile | cpu (request/limit) | memory (request/limit) | devices | idle after | description |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, p := range profiles {
		fmt.Fprintf(&b, "| `%s` | %s/%s | %s/%s | %s | %s | %s |\n", p.Name,
			p.Resources.Requests["cpu"], orDash(p.Resources.Limits["cpu"]),
			p.Resources.Requests["memory"], orDash(p.Resources.Limits["memory"]),
			strings.ReplaceAll(describeDevices(p), "|", `\|`), idleSummary(p), strings.ReplaceAll(p.Description, "|", `\|`))
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
