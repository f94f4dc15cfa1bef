package nic

import (
	"errors"
	"fmt"
	"math"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Sharing is how the NICs of a node are offered.
type Sharing string

const (
	// SharingExclusive gives each NIC to one claim at a time. It is the
	// default, also when Sharing is empty.
	SharingExclusive Sharing = "exclusive"
	// SharingBandwidth lets many claims be allocated from one NIC, each
	// consuming part of its bandwidth capacity. The scheduler does the
	// accounting; nothing on the node enforces the shares.
	SharingBandwidth Sharing = "bandwidth"
)

// ParseSharing reads a sharing mode as given on a command line.
func ParseSharing(s string) (Sharing, error) {
	switch m := Sharing(s); m {
	case "", SharingExclusive:
		return SharingExclusive, nil
	case SharingBandwidth:
		return m, nil
	}
	return "", fmt.Errorf("unknown NIC sharing mode %q (want %s or %s)", s, SharingExclusive, SharingBandwidth)
}

// Options choose how the NIC family publishes its devices. The zero value
// publishes every RDMA NIC exclusively.
type Options struct {
	// Sharing is SharingExclusive (or empty) or SharingBandwidth.
	Sharing Sharing
	// SharedInterfaces limits bandwidth sharing to the NICs named here, by
	// network interface ("ens1f0np0") or RDMA device ("mlx5_0") name; the
	// others stay exclusive. Empty shares every NIC. Only valid with
	// SharingBandwidth.
	SharedInterfaces []string
	// DefaultBandwidth is what a request that asks for no bandwidth
	// consumes from a shared NIC, in bits per second (zero means 10G). It
	// must be MinBandwidth plus a whole number of BandwidthSteps. Links
	// slower than it publish the largest share that fits instead.
	DefaultBandwidth resource.Quantity
	// MinBandwidth is the smallest share (zero means 1G). It must be
	// positive: zero-bandwidth shares would let any number of claims onto
	// one NIC and make the accounting meaningless.
	MinBandwidth resource.Quantity
	// BandwidthStep is the granularity of shares above the minimum (zero
	// means 1G); requests are rounded up to it.
	BandwidthStep resource.Quantity
}

// The bandwidth request policy defaults, in bits per second.
const (
	defaultBandwidth    = 10_000_000_000
	defaultMinBandwidth = 1_000_000_000
	defaultStep         = 1_000_000_000
)

// withDefaults fills in the zero bandwidth settings.
func (o Options) withDefaults() Options {
	if o.Sharing == "" {
		o.Sharing = SharingExclusive
	}
	for _, q := range []struct {
		q   *resource.Quantity
		def int64
	}{
		{&o.DefaultBandwidth, defaultBandwidth},
		{&o.MinBandwidth, defaultMinBandwidth},
		{&o.BandwidthStep, defaultStep},
	} {
		if q.q.IsZero() {
			*q.q = *resource.NewQuantity(q.def, resource.DecimalSI)
		}
	}
	return o
}

// Validate reports every invalid setting, each naming its field. The
// bandwidth settings are checked in every mode, so that a mistake shows up
// before sharing is switched on.
func (o Options) Validate() error {
	var errs []error
	if _, err := ParseSharing(string(o.Sharing)); err != nil {
		errs = append(errs, fmt.Errorf("sharing: %w", err))
	}
	if len(o.SharedInterfaces) > 0 && o.Sharing != SharingBandwidth {
		errs = append(errs, fmt.Errorf("sharedInterfaces: only applies with sharing %q", SharingBandwidth))
	}
	seen := map[string]bool{}
	for i, name := range o.SharedInterfaces {
		switch {
		case name == "":
			errs = append(errs, fmt.Errorf("sharedInterfaces[%d]: empty name", i))
		case seen[name]:
			errs = append(errs, fmt.Errorf("sharedInterfaces[%d]: %q is listed twice", i, name))
		}
		seen[name] = true
	}

	d := o.withDefaults()
	bad := false
	for _, q := range []struct {
		name string
		q    resource.Quantity
	}{
		{"defaultBandwidth", d.DefaultBandwidth},
		{"minBandwidth", d.MinBandwidth},
		{"bandwidthStep", d.BandwidthStep},
	} {
		if err := checkBitsPerSecond(q.q); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", q.name, err))
			bad = true
		}
	}
	// The relations below only make sense between valid numbers.
	if !bad {
		def, lo, step := d.DefaultBandwidth.Value(), d.MinBandwidth.Value(), d.BandwidthStep.Value()
		switch {
		case def < lo:
			errs = append(errs, fmt.Errorf("defaultBandwidth: %s is less than minBandwidth %s", &d.DefaultBandwidth, &d.MinBandwidth))
		case (def-lo)%step != 0:
			errs = append(errs, fmt.Errorf("defaultBandwidth: %s is not minBandwidth %s plus a multiple of bandwidthStep %s",
				&d.DefaultBandwidth, &d.MinBandwidth, &d.BandwidthStep))
		}
	}
	return errors.Join(errs...)
}

// checkBitsPerSecond accepts the quantities a request policy can carry
// without the API's fractional-capacity feature: whole, positive numbers
// that fit in an int64.
func checkBitsPerSecond(q resource.Quantity) error {
	switch {
	case q.Sign() <= 0:
		return fmt.Errorf("%s must be positive", &q)
	case q.CmpInt64(math.MaxInt64) > 0:
		return fmt.Errorf("%s is too large", &q)
	}
	if whole := resource.NewQuantity(q.Value(), resource.DecimalSI); whole.Cmp(q) != 0 {
		return fmt.Errorf("%s is not a whole number of bits per second", &q)
	}
	return nil
}
