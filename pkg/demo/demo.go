package demo

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/hadron-sched/hadron/pkg/attrs"
	"github.com/hadron-sched/hadron/pkg/kube"
)

// Namespace is where the demo creates its pods.
const Namespace = "research"

// Placement is where one workload ran and what it got.
type Placement struct {
	Workload  Workload
	Node      string
	Devices   []kube.AllocatedDevice
	NUMANodes []int64
	Models    []string
	ToRunning time.Duration
}

func resourceQuantity(s string) *resource.Quantity {
	q := resource.MustParse(s)
	return &q
}

// Run creates every workload, waits until all run, reports their placement
// and deletes them again. It fails if any workload does not run within
// timeout, or if a NUMA-constrained workload's GPUs are not on one node.
func Run(ctx context.Context, client kubernetes.Interface, out io.Writer, timeout time.Duration) ([]Placement, error) {
	if _, err := client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create namespace: %w", err)
	}
	created := map[string]time.Time{}
	for _, w := range Workloads {
		if w.HasClaim() {
			if _, err := client.ResourceV1().ResourceClaimTemplates(Namespace).Create(ctx, w.ClaimTemplate(Namespace), metav1.CreateOptions{}); err != nil {
				return nil, fmt.Errorf("%s: create ResourceClaimTemplate: %w", w.Name, err)
			}
		}
		if _, err := client.CoreV1().Pods(Namespace).Create(ctx, w.Pod(Namespace), metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("%s: create pod: %w", w.Name, err)
		}
		created[w.Name] = time.Now()
		fmt.Fprintf(out, "   created %-16s %s\n", w.Name, w.Description)
	}
	placements, err := waitRunning(ctx, client, out, created, timeout)
	if err != nil {
		return nil, err
	}
	printTable(out, placements)
	for _, p := range placements {
		if p.Workload.SameNUMA && len(p.NUMANodes) != 1 {
			return placements, fmt.Errorf("%s asked for devices on one NUMA node but got NUMA nodes %v", p.Workload.Name, p.NUMANodes)
		}
	}
	return placements, cleanUp(ctx, client, out)
}

func waitRunning(ctx context.Context, client kubernetes.Interface, out io.Writer, created map[string]time.Time, timeout time.Duration) ([]Placement, error) {
	running := map[string]time.Duration{}
	var pods *v1.PodList
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		var err error
		if pods, err = client.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{}); err != nil {
			return false, nil
		}
		for _, p := range pods.Items {
			if _, seen := running[p.Name]; !seen && p.Status.Phase == v1.PodRunning {
				running[p.Name] = time.Since(created[p.Name])
				fmt.Fprintf(out, "   running %-16s on %s after %s (%d/%d)\n", p.Name, p.Spec.NodeName, running[p.Name].Round(time.Millisecond), len(running), len(created))
			}
		}
		return len(running) == len(created), nil
	})
	if err != nil {
		return nil, fmt.Errorf("not all demo pods are running after %s: %s", timeout, pending(ctx, client, pods, running))
	}
	var placements []Placement
	for _, w := range Workloads {
		for i := range pods.Items {
			if pods.Items[i].Name != w.Name {
				continue
			}
			devices, err := kube.PodDevices(ctx, client, &pods.Items[i])
			if err != nil {
				return nil, err
			}
			placements = append(placements, describe(w, pods.Items[i].Spec.NodeName, devices, running[w.Name]))
		}
	}
	return placements, nil
}

func describe(w Workload, node string, devices []kube.AllocatedDevice, toRunning time.Duration) Placement {
	p := Placement{Workload: w, Node: node, Devices: devices, ToRunning: toRunning}
	numa, models := map[int64]bool{}, map[string]bool{}
	for _, d := range devices {
		if n, ok := d.Int(attrs.NUMANode); ok {
			numa[n] = true
		}
		if m, ok := d.String(attrs.GPUProductName); ok {
			models[m] = true
		}
	}
	for n := range numa {
		p.NUMANodes = append(p.NUMANodes, n)
	}
	sort.Slice(p.NUMANodes, func(i, j int) bool { return p.NUMANodes[i] < p.NUMANodes[j] })
	for m := range models {
		p.Models = append(p.Models, m)
	}
	sort.Strings(p.Models)
	return p
}

// pending explains, per pod that is not running, the latest reason.
func pending(ctx context.Context, client kubernetes.Interface, pods *v1.PodList, running map[string]time.Duration) string {
	if pods == nil {
		return "no pods listed"
	}
	var reasons []string
	for _, p := range pods.Items {
		if _, ok := running[p.Name]; ok {
			continue
		}
		reason := string(p.Status.Phase)
		for _, c := range p.Status.Conditions {
			if c.Type == v1.PodScheduled && c.Status != v1.ConditionTrue {
				reason = c.Reason + ": " + c.Message
			}
		}
		events, err := client.CoreV1().Events(Namespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + p.Name})
		if err == nil && len(events.Items) > 0 {
			last := events.Items[len(events.Items)-1]
			reason += "; last event: " + last.Reason + ": " + last.Message
		}
		reasons = append(reasons, p.Name+" ("+reason+")")
	}
	return strings.Join(reasons, ", ")
}

func printTable(out io.Writer, placements []Placement) {
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POD\tNODE\tGPUS\tCPUS\tNIC\tDEVICES\tNUMA\tGPU MODEL\tTO RUNNING")
	for _, p := range placements {
		gpus, cpus, nics := 0, "-", "-"
		for _, d := range p.Devices {
			switch d.Driver {
			case attrs.GPUDriver:
				gpus++
			case attrs.CPUDriver:
				cpus = fmt.Sprint(p.Workload.CPUs)
			case attrs.NICDriver:
				nics, _ = d.String(attrs.NICRDMADevice)
			}
		}
		var names []string
		for i, d := range p.Devices {
			if i == 3 && len(p.Devices) > 4 {
				names = append(names, fmt.Sprintf("+%d more", len(p.Devices)-3))
				break
			}
			names = append(names, shortDevice(d.Device))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Workload.Name, p.Node, gpus, cpus, orDash(nics), orDash(strings.Join(names, ",")),
			orDash(joinInts(p.NUMANodes)), orDash(strings.Join(p.Models, ",")), p.ToRunning.Round(time.Millisecond))
	}
	_ = tw.Flush()
	fmt.Fprintln(out)
}

// shortDevice abbreviates UUID-based device names for the table.
func shortDevice(name string) string {
	if len(name) > 12 {
		return name[:12]
	}
	return name
}

func joinInts(v []int64) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ",")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cleanUp deletes the demo pods and waits until they are gone, which means
// the nodes have unprepared their claims.
func cleanUp(ctx context.Context, client kubernetes.Interface, out io.Writer) error {
	if err := client.CoreV1().Pods(Namespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		return fmt.Errorf("delete demo pods: %w", err)
	}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := client.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{})
		return err == nil && len(pods.Items) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("demo pods were not deleted: %w", err)
	}
	fmt.Fprintln(out, "   demo pods deleted, claims unprepared")
	return nil
}
