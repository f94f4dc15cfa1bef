package config

import (
	"fmt"
	"io"
	"os"

	"github.com/hadron-sched/hadron/driver/gpu/api/strict"
)

// MaxFileBytes bounds the configuration file. A real one is a few
// kilobytes; the bound turns a wrong path (a log, a binary) into a clear
// error rather than a long parse.
const MaxFileBytes = 1 << 20

// FieldError is a problem with one setting; Path names it, e.g.
// "gpus[1].mode". Parse and Validate return a *FieldError or an ErrorList
// of them.
type FieldError = strict.FieldError

// ErrorList is several problems, reported together.
type ErrorList = strict.ErrorList

// Load reads the configuration file at path. Errors name the file.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("GPU driver configuration: %w", err)
	}
	defer func() { _ = f.Close() }() // read-only: nothing to flush
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GPU driver configuration %s: %w", path, err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("GPU driver configuration %s: %w", path, err)
	}
	return c, nil
}

// Parse reads a configuration from YAML or JSON, fills in defaults and
// validates it. An empty document is the default configuration. Unknown
// and repeated fields are errors.
func Parse(data []byte) (*Config, error) {
	js, err := strict.ToJSON(data, MaxFileBytes)
	if err != nil {
		return nil, err
	}
	var c Config
	if string(js) != "null" {
		if err := strict.Unmarshal(js, &c); err != nil {
			return nil, err
		}
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}
