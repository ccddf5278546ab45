// Package mpscan classifies msgpack values by their first byte, so readers
// of untrusted input (the RPC frame reader, the snapshot record reader, the
// Nomad state.bin reader) can walk a value's structure and bound it before
// any decoder allocates what a hostile length field declares.
package mpscan
