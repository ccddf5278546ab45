package structs

import (
	"fmt"
	"reflect"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// MsgpackHandle is the one codec configuration rejoin uses for commands, RPC
// and snapshots. It matches Nomad's: strings decode as strings, times use
// the codec's own binary encoding (TimeNotBuiltin), maps decode as
// map[string]interface{}, and struct fields are keyed by their Go name.
// Treat it as read-only.
var MsgpackHandle = func() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{}
	h.RawToString = true
	h.BasicHandle.TimeNotBuiltin = true
	h.MapType = reflect.TypeOf(map[string]interface{}(nil))
	return h
}()

// CanonicalMsgpackHandle is MsgpackHandle with map keys written in sorted
// order, so equal values always encode to identical bytes (hashes, snapshot
// files). It decodes exactly like MsgpackHandle. Treat it as read-only.
var CanonicalMsgpackHandle = func() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{}
	h.RawToString = true
	h.BasicHandle.TimeNotBuiltin = true
	h.MapType = reflect.TypeOf(map[string]interface{}(nil))
	h.Canonical = true
	return h
}()

// MarshalCanonical encodes v with CanonicalMsgpackHandle.
func MarshalCanonical(v any) ([]byte, error) {
	var buf []byte
	if err := codec.NewEncoderBytes(&buf, CanonicalMsgpackHandle).Encode(v); err != nil {
		return nil, fmt.Errorf("msgpack encode %T: %w", v, err)
	}
	return buf, nil
}

// Marshal encodes v as msgpack.
func Marshal(v any) ([]byte, error) {
	var buf []byte
	if err := codec.NewEncoderBytes(&buf, MsgpackHandle).Encode(v); err != nil {
		return nil, fmt.Errorf("msgpack encode %T: %w", v, err)
	}
	return buf, nil
}

// Unmarshal decodes msgpack into v. Any failure, including a panic inside
// the codec on hostile input, is returned as a *DecodeError matching
// ErrDecode.
func Unmarshal(buf []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &DecodeError{Type: fmt.Sprintf("%T", v), Err: fmt.Errorf("panic: %v", r)}
		}
	}()
	if err := codec.NewDecoderBytes(buf, MsgpackHandle).Decode(v); err != nil {
		return &DecodeError{Type: fmt.Sprintf("%T", v), Err: err}
	}
	return nil
}

// DecodeCommand decodes a command payload of type t. It fails with
// ErrUnknownCommand for a type it does not know and ErrDecode for a payload
// that does not decode.
func DecodeCommand(t MessageType, payload []byte) (any, error) {
	v := NewCommandPayload(t)
	if v == nil {
		return nil, fmt.Errorf("%w: %d", ErrUnknownCommand, uint8(t))
	}
	if err := Unmarshal(payload, v); err != nil {
		return nil, err
	}
	return v, nil
}

// DecodeError is a payload that is not valid msgpack for its type.
type DecodeError struct {
	Type string
	Err  error
}

func (e *DecodeError) Error() string { return "malformed " + e.Type + ": " + e.Err.Error() }

// Is makes the error match ErrDecode.
func (e *DecodeError) Is(target error) bool { return target == ErrDecode }

// Unwrap returns the codec's error.
func (e *DecodeError) Unwrap() error { return e.Err }
