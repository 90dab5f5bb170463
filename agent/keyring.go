package agent

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"
)

// Keyring files in data_dir/serf, Consul's names: the LAN pool's and the
// WAN pool's. serf rewrites them on every install, use and remove.
const (
	lanKeyringFile = "local.keyring"
	wanKeyringFile = "remote.keyring"
)

// setupKeyring gives one gossip pool its keys: the keyring file in
// data_dir when there is one (keys may have been rotated since the
// config's encrypt was written), else encrypt, which then starts the file.
// Without either the pool gossips in the clear.
func (a *Agent) setupKeyring(c *serf.Config, wan bool) error {
	key := a.config.Gossip.Encrypt
	path := ""
	if a.config.DataDir != "" {
		name := lanKeyringFile
		if wan {
			name = wanKeyringFile
		}
		path = filepath.Join(a.config.DataDir, "serf", name)
	}
	keys, err := readKeyring(path)
	if err != nil {
		return err
	}
	switch {
	case len(keys) > 0:
		if key != "" {
			a.logger.Warn("gossip keyring file found: encrypt is ignored, the keyring's keys are used", "file", path)
		}
	case key != "":
		keys = []string{key}
		if path != "" {
			if err := writeKeyring(path, keys); err != nil {
				return err
			}
		}
	default:
		return nil
	}
	raw := make([][]byte, 0, len(keys))
	for _, k := range keys {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			return fmt.Errorf("gossip key in %s: %w", path, err)
		}
		raw = append(raw, b)
	}
	kr, err := memberlist.NewKeyring(raw, raw[0])
	if err != nil {
		return fmt.Errorf("gossip keyring: %w", err)
	}
	c.MemberlistConfig.Keyring = kr
	c.MemberlistConfig.GossipVerifyIncoming = a.config.Gossip.EncryptVerifyIncoming
	c.MemberlistConfig.GossipVerifyOutgoing = a.config.Gossip.EncryptVerifyOutgoing
	c.KeyringFile = path
	return nil
}

// readKeyring reads a keyring file: a JSON list of base64 keys, the
// primary first. A missing file is no keys.
func readKeyring(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read gossip keyring: %w", err)
	}
	var keys []string
	if err := json.Unmarshal(b, &keys); err != nil {
		return nil, fmt.Errorf("gossip keyring %s: %w", path, err)
	}
	return keys, nil
}

func writeKeyring(path string, keys []string) error {
	b, err := json.Marshal(keys)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("gossip keyring dir: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("write gossip keyring: %w", err)
	}
	return nil
}
