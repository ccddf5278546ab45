// Package cmdlog is the command log: an append-only, checksummed record of
// every command the store applied (index, server time, type, payload), in
// size-rotated segment files, and the replay of it into a state.Store.
//
// A segment file starts with an 8-byte magic, then records:
//
//	uint32 length of body (little-endian)
//	uint32 CRC32C (Castagnoli) of body
//	body:  uint64 index | int64 unix-nano time | uint8 type | payload
//
// Indexes are strictly increasing across the whole log. A partial record at
// the end of the last segment is a torn write: Open truncates it and says
// so; ReadDir ignores it. Anything else that does not check out is a
// *CorruptError naming the segment and offset.
//
// Compact deletes the oldest segments once a snapshot covers them, so the
// log holds only what the latest snapshot lacks.
package cmdlog
