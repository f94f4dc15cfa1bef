package simhw

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"k8s.io/dynamic-resource-allocation/deviceattribute"
)

// resolve returns the absolute target of a sysfs link, failing the test if
// it dangles.
func resolve(t *testing.T, link string) string {
	t.Helper()
	p, err := filepath.EvalSymlinks(link)
	if err != nil {
		t.Fatalf("resolving %s: %v", link, err)
	}
	return p
}

// TestWriteSysfsNICs checks every NIC of every machine from the bus links
// up: PCI identity, the standard device attributes, the driver, the netdev
// and, for RDMA NICs, the InfiniBand and verbs devices.
func TestWriteSysfsNICs(t *testing.T) {
	for _, name := range append(Builtin(), "example") {
		t.Run(name, func(t *testing.T) {
			if name == "example" {
				name = filepath.Join("machines", "example", "custom.yaml")
			}
			m, root := sharedTree(t, name)
			sys := filepath.Join(root, "sys")
			rdma := 0
			for i, n := range m.NICs {
				dev := resolve(t, filepath.Join(sys, "bus/pci/devices", n.PCIBusID))
				attr, err := deviceattribute.GetPCIeRootAttributeByPCIBusID(n.PCIBusID, deviceattribute.WithFSFromRoot(sys))
				if err != nil || attr.Value.StringValue == nil || *attr.Value.StringValue != n.PCIeRoot {
					t.Errorf("nic %d: pcieRoot attribute = %+v, %v; want %s", i, attr.Value, err, n.PCIeRoot)
				}
				numa, err := deviceattribute.GetNUMANodeAttributeByPCIBusID(n.PCIBusID, deviceattribute.ScalarAttribute, deviceattribute.WithFSFromRoot(sys))
				if err != nil || numa.Value.IntValue == nil || *numa.Value.IntValue != int64(n.NUMANode) {
					t.Errorf("nic %d: numaNode attribute = %+v, %v; want %d", i, numa.Value, err, n.NUMANode)
				}
				if _, err := deviceattribute.GetPCIBusIDAttribute(n.PCIBusID); err != nil {
					t.Errorf("nic %d: GetPCIBusIDAttribute(%s) = %v", i, n.PCIBusID, err)
				}

				model := nicModels[n.Model]
				class := "0x020000"
				if n.LinkLayer == "InfiniBand" {
					class = "0x020700"
				}
				want := map[string]string{
					"vendor":        fmt.Sprintf("0x%04x", model.vendor),
					"device":        fmt.Sprintf("0x%04x", model.device),
					"class":         class,
					"numa_node":     strconv.Itoa(n.NUMANode),
					"local_cpulist": cpuList(m.CPU.nodeCPUs(n.NUMANode)),
				}
				for f, w := range want {
					if got := readTrim(t, filepath.Join(dev, f)); got != w {
						t.Errorf("nic %d: %s = %q, want %q", i, f, got, w)
					}
				}
				if got := filepath.Base(resolve(t, filepath.Join(dev, "driver"))); got != model.driver {
					t.Errorf("nic %d: driver = %s, want %s", i, got, model.driver)
				}

				netdev := resolve(t, filepath.Join(sys, "class/net", n.Interface))
				if filepath.Dir(filepath.Dir(netdev)) != dev {
					t.Errorf("nic %d: class/net/%s is %s, not under %s", i, n.Interface, netdev, dev)
				}
				if got := resolve(t, filepath.Join(netdev, "device")); got != dev {
					t.Errorf("nic %d: %s/device = %s, want %s", i, n.Interface, got, dev)
				}
				wantType := "1"
				if n.LinkLayer == "InfiniBand" {
					wantType = "32"
				}
				for f, w := range map[string]string{
					"speed": strconv.FormatInt(int64(n.SpeedGbps*1000), 10), "type": wantType, "operstate": "up",
				} {
					if got := readTrim(t, filepath.Join(netdev, f)); got != w {
						t.Errorf("nic %d: %s/%s = %q, want %q", i, n.Interface, f, got, w)
					}
				}

				ibDirs, _ := filepath.Glob(filepath.Join(dev, "infiniband", "*"))
				if !n.rdma() {
					if len(ibDirs) != 0 {
						t.Errorf("nic %d without RDMA has InfiniBand devices %v", i, ibDirs)
					}
					continue
				}
				ibName := fmt.Sprintf("mlx5_%d", rdma)
				uverbs := fmt.Sprintf("uverbs%d", rdma)
				rdma++
				ib := filepath.Join(sys, "class/infiniband", ibName)
				if got := resolve(t, filepath.Join(ib, "device")); got != dev {
					t.Errorf("nic %d: %s/device = %s, want %s", i, ibName, got, dev)
				}
				rate, _ := rdmaRate(n.SpeedGbps)
				for f, w := range map[string]string{
					"node_type": "1: CA", "ports/1/link_layer": n.LinkLayer, "ports/1/rate": rate, "ports/1/state": "4: ACTIVE",
				} {
					if got := readTrim(t, filepath.Join(ib, f)); got != w {
						t.Errorf("nic %d: %s/%s = %q, want %q", i, ibName, f, got, w)
					}
				}
				uv := filepath.Join(sys, "class/infiniband_verbs", uverbs)
				if got := resolve(t, filepath.Join(uv, "device")); got != dev {
					t.Errorf("nic %d: %s/device = %s, want %s", i, uverbs, got, dev)
				}
				if got, w := readTrim(t, filepath.Join(uv, "dev")), fmt.Sprintf("231:%d", 192+rdma-1); got != w {
					t.Errorf("nic %d: %s/dev = %q, want %q", i, uverbs, got, w)
				}
			}

			// The class-wide RDMA files exist exactly when some NIC has RDMA.
			for _, f := range []string{"class/infiniband_verbs/abi_version", "class/misc/rdma_cm/dev"} {
				_, err := os.Stat(filepath.Join(sys, f))
				if (err == nil) != (rdma > 0) {
					t.Errorf("%s: stat = %v with %d RDMA NICs", f, err, rdma)
				}
			}
			if rdma > 0 {
				if got := readTrim(t, filepath.Join(sys, "class/misc/rdma_cm/dev")); got != "10:58" {
					t.Errorf("rdma_cm dev = %q", got)
				}
			}
		})
	}
}

// TestRDMAClassesConsistent checks the verbs devices against the RDMA
// devices, the way rdma-core matches them: every uverbsN names (ibdev) an
// entry of class/infiniband on the same PCI function, one to one.
func TestRDMAClassesConsistent(t *testing.T) {
	for _, name := range Builtin() {
		t.Run(name, func(t *testing.T) {
			_, root := sharedTree(t, name)
			sys := filepath.Join(root, "sys")
			ibs, _ := filepath.Glob(filepath.Join(sys, "class/infiniband/*"))
			uvs, _ := filepath.Glob(filepath.Join(sys, "class/infiniband_verbs/uverbs*"))
			if len(ibs) != len(uvs) {
				t.Fatalf("%d InfiniBand devices but %d verbs devices", len(ibs), len(uvs))
			}
			named := map[string]bool{}
			for _, uv := range uvs {
				ibdev := readTrim(t, filepath.Join(uv, "ibdev"))
				if named[ibdev] {
					t.Errorf("%s: ibdev %s named twice", filepath.Base(uv), ibdev)
				}
				named[ibdev] = true
				ib := filepath.Join(sys, "class/infiniband", ibdev)
				if a, b := resolve(t, filepath.Join(uv, "device")), resolve(t, filepath.Join(ib, "device")); a != b {
					t.Errorf("%s is on %s but its %s on %s", filepath.Base(uv), a, ibdev, b)
				}
				// uverbsN and mlx5_N go together, as they are created in one probe.
				if strings.TrimPrefix(filepath.Base(uv), "uverbs") != strings.TrimPrefix(ibdev, "mlx5_") {
					t.Errorf("%s names %s", filepath.Base(uv), ibdev)
				}
			}
		})
	}
}

// TestDGXH100NICs pins the DGX H100 network layout to the user guide's
// port tables: each compute NIC shares its GPU's NUMA node, host bridge and
// PCIe switch, and the RDMA devices carry the guide's names.
func TestDGXH100NICs(t *testing.T) {
	m, root := sharedTree(t, "dgxh100")
	sys := filepath.Join(root, "sys")
	// Interface -> RDMA device and GPU (-1: storage), from the guide.
	want := map[string]struct {
		rdma string
		gpu  int
	}{
		"ibp24s0": {"mlx5_0", 0}, "ibp64s0": {"mlx5_3", 1}, "ibp79s0": {"mlx5_4", 2}, "ibp94s0": {"mlx5_5", 3},
		"ibp154s0": {"mlx5_6", 4}, "ibp192s0": {"mlx5_9", 5}, "ibp206s0": {"mlx5_10", 6}, "ibp220s0": {"mlx5_11", 7},
		"enp41s0f0np0": {"mlx5_1", -1}, "enp41s0f1np1": {"mlx5_2", -1}, "enp170s0f0np0": {"mlx5_7", -1}, "enp170s0f1np1": {"mlx5_8", -1},
	}
	if len(m.NICs) != len(want) {
		t.Fatalf("%d NICs, want %d", len(m.NICs), len(want))
	}
	opt := deviceattribute.WithFSFromRoot(sys)
	for i, n := range m.NICs {
		w, ok := want[n.Interface]
		if !ok {
			t.Errorf("nic %d: unexpected interface %s", i, n.Interface)
			continue
		}
		ibs, _ := filepath.Glob(filepath.Join(sys, "class/net", n.Interface, "device/infiniband/*"))
		if len(ibs) != 1 || filepath.Base(ibs[0]) != w.rdma {
			t.Errorf("nic %d (%s): RDMA devices %v, want %s", i, n.Interface, ibs, w.rdma)
		}
		if w.gpu < 0 {
			if n.PairedGPU != nil || n.LinkLayer != "Ethernet" || n.SpeedGbps != 200 {
				t.Errorf("storage nic %d = %+v", i, n)
			}
			continue
		}
		if n.PairedGPU == nil || *n.PairedGPU != w.gpu || n.LinkLayer != "InfiniBand" || n.SpeedGbps != 400 {
			t.Errorf("compute nic %d = %+v, want paired with gpu %d at 400 Gb/s InfiniBand", i, n, w.gpu)
			continue
		}
		g := m.GPUs[w.gpu]
		nicRoot, err1 := deviceattribute.GetPCIeRootAttributeByPCIBusID(n.PCIBusID, opt)
		gpuRoot, err2 := deviceattribute.GetPCIeRootAttributeByPCIBusID(g.PCIBusID, opt)
		if err1 != nil || err2 != nil || *nicRoot.Value.StringValue != *gpuRoot.Value.StringValue {
			t.Errorf("nic %d: pcieRoot %+v (%v), gpu %d: %+v (%v)", i, nicRoot.Value, err1, w.gpu, gpuRoot.Value, err2)
		}
		nicNUMA, err1 := deviceattribute.GetNUMANodeAttributeByPCIBusID(n.PCIBusID, deviceattribute.ScalarAttribute, opt)
		gpuNUMA, err2 := deviceattribute.GetNUMANodeAttributeByPCIBusID(g.PCIBusID, deviceattribute.ScalarAttribute, opt)
		if err1 != nil || err2 != nil || *nicNUMA.Value.IntValue != *gpuNUMA.Value.IntValue {
			t.Errorf("nic %d: numaNode %+v (%v), gpu %d: %+v (%v)", i, nicNUMA.Value, err1, w.gpu, gpuNUMA.Value, err2)
		}
		// Behind one switch: the downstream ports differ, the upstream
		// port is shared.
		nicDev := resolve(t, filepath.Join(sys, "bus/pci/devices", n.PCIBusID))
		gpuDev := resolve(t, filepath.Join(sys, "bus/pci/devices", g.PCIBusID))
		if filepath.Dir(nicDev) == filepath.Dir(gpuDev) || filepath.Dir(filepath.Dir(nicDev)) != filepath.Dir(filepath.Dir(gpuDev)) {
			t.Errorf("nic %d at %s and gpu %d at %s are not behind one switch", i, nicDev, w.gpu, gpuDev)
		}
	}
}

// TestPCIBridgeBusRanges checks every bridge of every tree as Linux would
// have enumerated it: the functions directly behind a bridge sit on its
// secondary bus, everything below it within [secondary, subordinate], and
// sibling bridges own disjoint ranges.
func TestPCIBridgeBusRanges(t *testing.T) {
	type bridge struct{ secondary, subordinate int }
	readInt := func(t *testing.T, p string) int {
		t.Helper()
		v, err := strconv.Atoi(readTrim(t, p))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return v
	}
	for _, name := range append(Builtin(), "example") {
		t.Run(name, func(t *testing.T) {
			if name == "example" {
				name = filepath.Join("machines", "example", "custom.yaml")
			}
			_, root := sharedTree(t, name)
			// check walks the functions below dir, which sit on bus; it
			// returns the buses used below dir.
			var check func(dir string, bus int) []int
			check = func(dir string, bus int) []int {
				entries, err := os.ReadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				var used []int
				var ranges []bridge
				for _, e := range entries {
					addr, ok := parseSysfsBusID(e.Name())
					if !ok || !e.IsDir() {
						continue
					}
					fn := filepath.Join(dir, e.Name())
					if int(addr.Bus) != bus {
						t.Errorf("%s is on bus %02x, want %02x", fn, addr.Bus, bus)
					}
					used = append(used, int(addr.Bus))
					if _, err := os.Stat(filepath.Join(fn, "secondary_bus_number")); err != nil {
						continue
					}
					b := bridge{readInt(t, filepath.Join(fn, "secondary_bus_number")), readInt(t, filepath.Join(fn, "subordinate_bus_number"))}
					if b.secondary <= bus || b.subordinate < b.secondary {
						t.Errorf("%s: bus range %d-%d on bus %d", fn, b.secondary, b.subordinate, bus)
					}
					for _, r := range ranges {
						if b.secondary <= r.subordinate && r.secondary <= b.subordinate {
							t.Errorf("%s: bus range %d-%d overlaps a sibling's %d-%d", fn, b.secondary, b.subordinate, r.secondary, r.subordinate)
						}
					}
					ranges = append(ranges, b)
					for _, u := range check(fn, b.secondary) {
						if u < b.secondary || u > b.subordinate {
							t.Errorf("%s: bus %02x below it is outside %02x-%02x", fn, u, b.secondary, b.subordinate)
						}
						used = append(used, u)
					}
				}
				return used
			}
			hosts, _ := filepath.Glob(filepath.Join(root, "sys/devices/pci*"))
			if len(hosts) == 0 {
				t.Fatal("no host bridges")
			}
			for _, h := range hosts {
				d, b, ok := parsePCIeRoot(filepath.Base(h))
				if !ok || d != 0 {
					t.Fatalf("bad host bridge %s", h)
				}
				check(h, int(b))
			}
		})
	}
}

// TestNICIdentity checks the derived addresses: stable, distinct within a
// machine, locally administered, and the IPoIB address carrying the GUID.
func TestNICIdentity(t *testing.T) {
	m := mustLoad(t, "dgxh100")
	again := mustLoad(t, "dgxh100")
	seen := map[[6]byte]int{}
	for i := range m.NICs {
		mac := m.nicMAC(i)
		if mac != again.nicMAC(i) {
			t.Errorf("nic %d: MAC not stable", i)
		}
		if prev, dup := seen[mac]; dup {
			t.Errorf("nics %d and %d share MAC %x", prev, i, mac)
		}
		seen[mac] = i
		if mac[0]&0x03 != 0x02 {
			t.Errorf("nic %d: MAC %x is not locally administered unicast", i, mac)
		}
		addr := m.netdevAddress(i)
		guid := strings.ReplaceAll(formatGUID(m.nicGUID(i)), ":", "")
		switch m.NICs[i].LinkLayer {
		case "InfiniBand":
			parts := strings.Split(addr, ":")
			if len(parts) != 20 || strings.Join(parts[12:], "") != guid || strings.Join(parts[4:6], "") != "fe80" {
				t.Errorf("nic %d: IPoIB address %s, GUID %s", i, addr, guid)
			}
		default:
			if addr != net.HardwareAddr(mac[:]).String() {
				t.Errorf("nic %d: address %s, MAC %x", i, addr, mac)
			}
		}
	}
	other := *m
	other.Name = "another"
	if other.nicMAC(0) == m.nicMAC(0) {
		t.Error("two machine names give one MAC")
	}
	want := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	if got := m.rdmaIndices(); !reflect.DeepEqual(got, want) {
		t.Errorf("rdmaIndices() = %v, want %v", got, want)
	}
	if got := mustLoad(t, "workstation").rdmaIndices(); !reflect.DeepEqual(got, []int{-1}) {
		t.Errorf("workstation rdmaIndices() = %v, want [-1]", got)
	}
	names := NICModels()
	if !sort.StringsAreSorted(names) || len(names) != len(nicModels) {
		t.Errorf("NICModels() = %v", names)
	}
}
