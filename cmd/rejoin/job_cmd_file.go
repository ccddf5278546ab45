package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/rejoinhq/rejoin/reconcile"
	"github.com/rejoinhq/rejoin/structs"
)

// loadJobFile reads a job in the Job shape of SCENARIOS.md (durations as
// Go strings or nanoseconds; unknown fields ignored). A whole scenario
// file is accepted too: its Job is used. Decoding is reconcile's scenario
// decoder, so a job means the same here as in a scenario. Errors are one
// line naming the field (e.g. "Job.TaskGroups[0].Disconnect.LostAfter")
// or the line and column of bad JSON.
func loadJobFile(path string) (*structs.Job, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, jsonPosError(b, err)
	}
	jobRaw := json.RawMessage(b)
	if j, ok := top["Job"]; ok && top["TaskGroups"] == nil {
		jobRaw = j
	}
	// The scenario decoder needs a Now; it is not part of the job.
	wrapped, err := json.Marshal(map[string]json.RawMessage{
		"Now": json.RawMessage(`"2000-01-01T00:00:00Z"`),
		"Job": jobRaw,
	})
	if err != nil {
		return nil, err
	}
	s, err := reconcile.DecodeScenario(bytes.NewReader(wrapped))
	if err != nil {
		return nil, err
	}
	job := s.Input.Job
	if err := job.Validate(); err != nil {
		return nil, err
	}
	return job, nil
}

// jsonPosError reports a JSON error with its line and column.
func jsonPosError(b []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := position(b, syn.Offset)
		return fmt.Errorf("bad JSON at line %d column %d: %v", line, col, syn)
	case errors.As(err, &typ):
		return fmt.Errorf("a job file holds one JSON object, not %s", typ.Value)
	}
	return fmt.Errorf("bad JSON: %v", err)
}

func position(b []byte, off int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < off && i < int64(len(b)); i++ {
		if b[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}
