package dagspec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// The serialized form stored in the metadata database.

// Serialize returns a DAG's canonical JSON and its hash (hex SHA-256). The
// same DAG always gives the same bytes.
func Serialize(d *DAG) ([]byte, string, error) {
	data, err := json.Marshal(d)
	if err != nil {
		return nil, "", fmt.Errorf("serialize DAG %s: %w", d.DagID, err)
	}
	sum := sha256.Sum256(data)
	return data, hex.EncodeToString(sum[:]), nil
}

// Deserialize reads a DAG written by Serialize.
func Deserialize(data []byte) (*DAG, error) {
	var d DAG
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("deserialize DAG: %w", err)
	}
	if d.DagID == "" || len(d.Tasks) == 0 {
		return nil, errors.New("deserialize DAG: no dag_id or no tasks")
	}
	return &d, nil
}
