package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/rejoinhq/rejoin/rpc"
)

// Exit statuses of the operator commands (node, alloc, job, server
// status): 0 success; 1 the command ran and failed (server unreachable,
// unknown ID, the server refused, a job file that cannot be understood);
// 2 usage errors (exitBadInput).
const exitFailed = 1

// DefaultAddress is where operator commands look for the server unless
// --address or REJOIN_ADDR says otherwise.
const DefaultAddress = "127.0.0.1:4647"

// clientFlags are the flags every operator command takes.
type clientFlags struct {
	address string
	json    bool
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	def := os.Getenv("REJOIN_ADDR")
	if def == "" {
		def = DefaultAddress
	}
	fs.StringVar(&c.address, "address", def, "server RPC `ADDR` (env REJOIN_ADDR)")
	fs.BoolVar(&c.json, "json", false, "print JSON for scripts")
}

// parseInterleaved parses flags that may come before or after positional
// arguments ("alloc status ID --json"). It returns the positionals, or
// ok=false with the exit status to return.
func parseInterleaved(fs *flag.FlagSet, args []string) (pos []string, code int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK, false
			}
			return nil, exitBadInput, false
		}
		if fs.NArg() == 0 {
			return pos, 0, true
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// dial returns a client for the operator commands: one attempt per call,
// so an unreachable server is reported at once.
func dial(address string) (*rpc.Client, error) {
	return rpc.NewClient(rpc.ClientConfig{Addr: address, MaxAttempts: 1, DialTimeout: 3 * time.Second, Timeout: 30 * time.Second})
}

// failLine prints one line explaining err for the command and returns
// exitFailed.
func failLine(stderr io.Writer, cmd, address string, err error) int {
	fmt.Fprintf(stderr, "rejoin %s: %s\n", cmd, describe(address, err))
	return exitFailed
}

// describe turns a client error into one line: what the server said, or
// why it could not be asked.
func describe(address string, err error) string {
	var re *rpc.RemoteError
	var oe *net.OpError
	switch {
	case errors.As(err, &re):
		return flatten(re.Message)
	case errors.As(err, &oe):
		cause := oe.Err
		for u := errors.Unwrap(cause); u != nil; u = errors.Unwrap(cause) {
			cause = u
		}
		return fmt.Sprintf("cannot reach the server at %s: %v (is 'rejoin server' running? set --address or REJOIN_ADDR)", address, cause)
	case errors.Is(err, rpc.ErrCallTimeout):
		return fmt.Sprintf("the server at %s did not answer in time", address)
	}
	return flatten(err.Error())
}

func flatten(s string) string { return strings.Join(strings.Fields(s), " ") }

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) int {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fmt.Fprintf(w, "encode: %v\n", err)
		return exitFailed
	}
	_, _ = w.Write(append(b, '\n'))
	return exitOK
}

// countsString renders {"running": 2, "unknown": 1} as
// "running=2 unknown=1", sorted, or "-".
func countsString(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k, n := range m {
		if n > 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return "-"
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// timeString is an RFC 3339 time, or "-" for the zero time.
func timeString(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// subcommands dispatches "NAME SUB args" to subs, printing usage on a
// missing or unknown sub.
func subcommands(name string, subs map[string]func(args []string, stdout, stderr io.Writer) int, args []string, stdout, stderr io.Writer) int {
	usage := func() {
		names := make([]string, 0, len(subs))
		for n := range subs {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(stderr, "Usage: rejoin %s <%s> [flags]\n", name, strings.Join(names, "|"))
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		usage()
		if len(args) == 0 {
			return exitBadInput
		}
		return exitOK
	}
	f, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "rejoin %s: unknown subcommand %q\n", name, args[0])
		usage()
		return exitBadInput
	}
	return f(args[1:], stdout, stderr)
}
