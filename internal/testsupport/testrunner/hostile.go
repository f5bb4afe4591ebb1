package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Hostile behaviours: what a runner that tries to make the driver's sidecars read what it
// cannot read itself would leave behind. Inputs:
//
//	plant           list of {"path", "kind", "target"}: once the runner wrote its own files,
//	                path (environment variables expanded, e.g. "$ERROR_FILE") is replaced by
//	                a "symlink" to target, a "hardlink" to target, a "fifo", or a regular
//	                file holding target ("write")
//	plant_on        the action that plants ("create" or "destroy"; default both)
//	token_lifetime  output "token_lifetime_seconds": exp - iat of the service account
//	                token mounted into the runner (job.mount_service_account_token)
type hostileInputs struct {
	Plant         []plantItem `json:"plant"`
	PlantOn       string      `json:"plant_on"`
	TokenLifetime bool        `json:"token_lifetime"`
}

type plantItem struct {
	Path   string `json:"path"`
	Kind   string `json:"kind"`
	Target string `json:"target"`
}

func readHostile(raw []byte) hostileInputs {
	var h hostileInputs
	_ = json.Unmarshal(raw, &h)
	return h
}

// plant replaces each path by what the item says; it reports what it did on stdout.
func (h hostileInputs) plant() error {
	if h.PlantOn != "" && h.PlantOn != os.Getenv("ACTION") {
		return nil
	}
	for _, it := range h.Plant {
		p := os.ExpandEnv(it.Path)
		target := os.ExpandEnv(it.Target)
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("plant %s: %w", p, err)
		}
		var err error
		switch it.Kind {
		case "symlink":
			err = os.Symlink(target, p)
		case "hardlink":
			err = os.Link(target, p)
		case "fifo":
			err = syscall.Mkfifo(p, 0o644)
		case "write":
			err = os.WriteFile(p, []byte(target), 0o644)
		default:
			err = fmt.Errorf("unknown kind %q", it.Kind)
		}
		if err != nil {
			return fmt.Errorf("plant %s: %w", p, err)
		}
		fmt.Printf("testrunner: planted %s %s\n", it.Kind, p)
	}
	return nil
}

// tokenLifetime is exp - iat of the mounted token, or a message saying why it is unknown.
func tokenLifetime() any {
	b, err := os.ReadFile(filepath.Join("/var/run/secrets/kubernetes.io/serviceaccount", "token"))
	if err != nil {
		return "no token: " + err.Error()
	}
	n, err := jwtLifetime(string(b))
	if err != nil {
		return err.Error()
	}
	return n
}

// jwtLifetime is exp - iat of a JWT, in seconds.
func jwtLifetime(jwt string) (int64, error) {
	parts := strings.Split(strings.TrimSpace(jwt), ".")
	if len(parts) != 3 {
		return 0, fmt.Errorf("not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return 0, fmt.Errorf("JWT payload: %w", err)
	}
	var c struct{ Exp, Iat int64 }
	if err := json.Unmarshal(payload, &c); err != nil {
		return 0, fmt.Errorf("JWT claims: %w", err)
	}
	return c.Exp - c.Iat, nil
}
