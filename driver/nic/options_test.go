package nic

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

func TestParseSharing(t *testing.T) {
	for _, tt := range []struct {
		in, want, err string
	}{
		{in: "", want: "exclusive"},
		{in: "exclusive", want: "exclusive"},
		{in: "bandwidth", want: "bandwidth"},
		{in: "Bandwidth", err: `unknown NIC sharing mode "Bandwidth"`},
		{in: "time", err: "want exclusive or bandwidth"},
	} {
		got, err := ParseSharing(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseSharing(%q) = %q, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("ParseSharing(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	q := resource.MustParse
	for _, tt := range []struct {
		name string
		opts Options
		// errs are substrings the error must hold; none means valid.
		errs []string
	}{
		{name: "zero value"},
		{name: "exclusive", opts: Options{Sharing: SharingExclusive}},
		{name: "bandwidth defaults", opts: Options{Sharing: SharingBandwidth}},
		{name: "bandwidth custom", opts: Options{Sharing: SharingBandwidth, SharedInterfaces: []string{"ib0", "mlx5_1"},
			DefaultBandwidth: q("25G"), MinBandwidth: q("5G"), BandwidthStep: q("5G")}},
		{name: "default off the step grid but on it from min", opts: Options{Sharing: SharingBandwidth,
			DefaultBandwidth: q("12G"), MinBandwidth: q("2G"), BandwidthStep: q("5G")}},
		{name: "unknown mode", opts: Options{Sharing: "mps"}, errs: []string{`sharing: unknown NIC sharing mode "mps"`}},
		{name: "interfaces without sharing", opts: Options{SharedInterfaces: []string{"ib0"}},
			errs: []string{`sharedInterfaces: only applies with sharing "bandwidth"`}},
		{name: "bad interface names", opts: Options{Sharing: SharingBandwidth, SharedInterfaces: []string{"ib0", "", "ib0"}},
			errs: []string{"sharedInterfaces[1]: empty name", `sharedInterfaces[2]: "ib0" is listed twice`}},
		{name: "negative", opts: Options{MinBandwidth: q("-1G")}, errs: []string{"minBandwidth: -1G must be positive"}},
		{name: "fractional", opts: Options{BandwidthStep: q("1500m")}, errs: []string{"bandwidthStep: 1500m is not a whole number"}},
		{name: "too large", opts: Options{DefaultBandwidth: q("10E")}, errs: []string{"defaultBandwidth: 10E is too large"}},
		{name: "default below min", opts: Options{DefaultBandwidth: q("1G"), MinBandwidth: q("2G")},
			errs: []string{"defaultBandwidth: 1G is less than minBandwidth 2G"}},
		{name: "default off the grid", opts: Options{DefaultBandwidth: q("10G"), BandwidthStep: q("4G")},
			errs: []string{"defaultBandwidth: 10G is not minBandwidth 1G plus a multiple of bandwidthStep 4G"}},
		{name: "every error at once", opts: Options{Sharing: "x", SharedInterfaces: []string{""}, MinBandwidth: q("-1")},
			errs: []string{"sharing:", "sharedInterfaces:", "sharedInterfaces[0]", "minBandwidth:"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if len(tt.errs) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.errs)
			}
			for _, want := range tt.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestOptionsDefaults(t *testing.T) {
	d := Options{}.withDefaults()
	if d.Sharing != SharingExclusive || d.DefaultBandwidth.String() != "10G" || d.MinBandwidth.String() != "1G" || d.BandwidthStep.String() != "1G" {
		t.Fatalf("defaults: %+v", d)
	}
	set := Options{DefaultBandwidth: resource.MustParse("20G")}.withDefaults()
	if set.DefaultBandwidth.String() != "20G" {
		t.Fatalf("a set default was replaced: %s", &set.DefaultBandwidth)
	}
}
