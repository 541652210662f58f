// loadgen: a closed-loop HTTP load generator for the peer benchmark.
//
// C workers each keep one keep-alive connection and send the next request as
// soon as the previous answer is read (closed loop), cycling through request
// bodies read from a file (one JSON body per line). The warm-up runs first and
// is not recorded; every worker then waits for its last warm-up answer, so the
// recorded phase starts with no request in flight. With -sync the generator
// says "warm" on stderr at that point and waits for a line on stdin: the caller
// reads the servers' CPU counters there, and again once the generator exits,
// and so gets the CPU time of exactly the recorded requests. It stops at the
// duration or the request cap, whichever comes first, and prints one JSON
// summary on stdout.
//
// A request succeeds only when its status is -expect-status and its body passes
// the checks given: -expect-body (a substring) and -expect-output NAME, which
// requires a v2 answer without "error" whose output NAME holds -expect-values
// numbers, each a probability in [0, 1]. Anything else is an error, so a server
// that answers fast with the wrong thing cannot look fast.
//
// Standard library only; GOMAXPROCS defaults to 1 so that the generator, which
// shares the machine with the servers it measures, takes at most one core.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type config struct {
	url         string
	bodiesPath  string
	concurrency int
	duration    time.Duration
	warmup      time.Duration
	maxRequests int64
	hostHeader  string
	expect      int
	contains    string
	output      string
	values      int
	timeout     time.Duration
	procs       int
	sync        bool
}

type worker struct {
	latencies []float64 // milliseconds, recorded requests only
	errors    int64
	bodyErrs  int64 // right status, body failed a check
	statuses  map[int]int64
	lastError string
}

type summary struct {
	URL          string           `json:"url"`
	Concurrency  int              `json:"concurrency"`
	Requests     int64            `json:"requests"`
	Errors       int64            `json:"errors"`
	BodyErrors   int64            `json:"body_errors"`
	DurationS    float64          `json:"duration_s"`
	RPS          float64          `json:"rps"`
	P50Ms        float64          `json:"p50_ms"`
	P90Ms        float64          `json:"p90_ms"`
	P99Ms        float64          `json:"p99_ms"`
	MaxMs        float64          `json:"max_ms"`
	MeanMs       float64          `json:"mean_ms"`
	Statuses     map[string]int64 `json:"statuses"`
	LastError    string           `json:"last_error,omitempty"`
	GenCPUS      float64          `json:"loadgen_cpu_s"`
	GenProcs     int              `json:"loadgen_procs"`
	WarmupS      float64          `json:"warmup_s"`
	CappedByReqs bool             `json:"capped_by_requests"`
}

func parseFlags() config {
	var c config
	flag.StringVar(&c.url, "url", "", "target URL (POST)")
	flag.StringVar(&c.bodiesPath, "bodies", "", "file with one request body per line")
	flag.IntVar(&c.concurrency, "c", 1, "concurrent closed-loop workers (connections)")
	flag.DurationVar(&c.duration, "d", 10*time.Second, "measured duration (after warm-up)")
	flag.DurationVar(&c.warmup, "warmup", time.Second, "warm-up not recorded")
	flag.Int64Var(&c.maxRequests, "n", 0, "stop after this many recorded requests (0 = no cap)")
	flag.StringVar(&c.hostHeader, "host-header", "", "Host header (e.g. for a KServe ingress)")
	flag.IntVar(&c.expect, "expect-status", 200, "status counted as success")
	flag.StringVar(&c.contains, "expect-body", "", "substring a successful body must contain")
	flag.StringVar(&c.output, "expect-output", "", "v2 output that must hold probabilities in [0, 1]")
	flag.IntVar(&c.values, "expect-values", 0, "how many values that output must hold (0 = any, >= 1)")
	flag.DurationVar(&c.timeout, "timeout", 30*time.Second, "per-request timeout")
	flag.IntVar(&c.procs, "procs", 1, "GOMAXPROCS: cores the generator may use")
	flag.BoolVar(&c.sync, "sync", false,
		"after the warm-up, print \"warm\" on stderr and wait for a line on stdin")
	flag.Parse()
	if c.url == "" || c.bodiesPath == "" || c.concurrency < 1 {
		fmt.Fprintln(os.Stderr, "loadgen: -url, -bodies and -c >= 1 are required")
		os.Exit(2)
	}
	if c.values < 0 || (c.values > 0 && c.output == "") {
		fmt.Fprintln(os.Stderr, "loadgen: -expect-values must be >= 0 and needs -expect-output")
		os.Exit(2)
	}
	return c
}

func readBodies(path string) [][]byte {
	file, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	defer file.Close()
	var bodies [][]byte
	scanner := bufio.NewScanner(file)
	scanner.Buffer(make([]byte, 1<<20), 64<<20)
	for scanner.Scan() {
		if line := bytes.TrimSpace(scanner.Bytes()); len(line) > 0 {
			bodies = append(bodies, append([]byte(nil), line...))
		}
	}
	if len(bodies) == 0 {
		fmt.Fprintln(os.Stderr, "loadgen: no request bodies in", path)
		os.Exit(2)
	}
	return bodies
}

func newClient(c config) *http.Client {
	transport := &http.Transport{
		MaxIdleConns:        c.concurrency,
		MaxIdleConnsPerHost: c.concurrency,
		MaxConnsPerHost:     c.concurrency,
		DisableCompression:  true,
	}
	return &http.Client{Transport: transport, Timeout: c.timeout}
}

// v2Answer is the part of a v2 inference response the body check reads.
type v2Answer struct {
	Error   json.RawMessage `json:"error"`
	Outputs []struct {
		Name string          `json:"name"`
		Data json.RawMessage `json:"data"`
	} `json:"outputs"`
}

// checkProbabilities returns "" when output `name` of the v2 answer holds
// `count` numbers (any count >= 1 when count is 0), each in [0, 1].
func checkProbabilities(data []byte, name string, count int) string {
	var answer v2Answer
	if err := json.Unmarshal(data, &answer); err != nil {
		return fmt.Sprintf("body is not a v2 answer (%v): %.200s", err, data)
	}
	if len(answer.Error) > 0 && string(answer.Error) != "null" {
		return fmt.Sprintf("body has an error: %.200s", data)
	}
	for _, out := range answer.Outputs {
		if out.Name == name {
			return checkValues(out.Data, name, count)
		}
	}
	return fmt.Sprintf("no output %q: %.200s", name, data)
}

func checkValues(raw json.RawMessage, name string, count int) string {
	var values []float64
	if err := json.Unmarshal(raw, &values); err != nil {
		return fmt.Sprintf("output %q is not a list of numbers: %.200s", name, raw)
	}
	if (count > 0 && len(values) != count) || len(values) == 0 {
		return fmt.Sprintf("output %q has %d values, expected %d", name, len(values), count)
	}
	for i, v := range values {
		if !(v >= 0 && v <= 1) {
			return fmt.Sprintf("output %q value %d is %g, not a probability", name, i, v)
		}
	}
	return ""
}

// checkBody applies the body checks that were asked for.
func checkBody(c config, data []byte) string {
	if c.contains != "" && !bytes.Contains(data, []byte(c.contains)) {
		return fmt.Sprintf("body lacks %q: %.200s", c.contains, data)
	}
	if c.output != "" {
		return checkProbabilities(data, c.output, c.values)
	}
	return ""
}

// send posts one body; it returns the status (0 on transport error), an error
// text and whether the error is a failed body check.
func send(client *http.Client, c config, body []byte) (int, string, bool) {
	req, err := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error(), false
	}
	req.Header.Set("Content-Type", "application/json")
	if c.hostHeader != "" {
		req.Host = c.hostHeader
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error(), false
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return resp.StatusCode, err.Error(), false
	}
	if resp.StatusCode != c.expect {
		return resp.StatusCode, fmt.Sprintf("status %d: %.200s", resp.StatusCode, data), false
	}
	errText := checkBody(c, data)
	return resp.StatusCode, errText, errText != ""
}

// run sends requests until the end time or, with a cap, until every request
// slot is taken: a slot is reserved before sending, so no more than the cap
// is ever sent. Unless recording (warm-up), answers are checked and dropped.
func (w *worker) run(client *http.Client, c config, bodies [][]byte, offset int,
	end time.Time, recording bool, reserved *int64) {
	for i := offset; ; i++ {
		t0 := time.Now()
		if !t0.Before(end) {
			return
		}
		if recording && c.maxRequests > 0 && atomic.AddInt64(reserved, 1) > c.maxRequests {
			return
		}
		status, errText, badBody := send(client, c, bodies[i%len(bodies)])
		t1 := time.Now()
		if !recording {
			continue // warm-up
		}
		w.statuses[status]++
		w.latencies = append(w.latencies, float64(t1.Sub(t0).Nanoseconds())/1e6)
		if errText != "" {
			w.errors++
			w.lastError = errText
		}
		if badBody {
			w.bodyErrs++
		}
	}
}

// phase runs every worker until end and returns when the last answer is in.
func phase(client *http.Client, c config, bodies [][]byte, workers []*worker,
	end time.Time, recording bool, reserved *int64) {
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Add(1)
		go func(w *worker, offset int) {
			defer wg.Done()
			w.run(client, c, bodies, offset, end, recording, reserved)
		}(w, i)
	}
	wg.Wait()
}

// handshake tells the caller the warm-up is over and waits for its go-ahead.
func handshake() {
	fmt.Fprintln(os.Stderr, "warm")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil && err != io.EOF {
		fmt.Fprintln(os.Stderr, "loadgen: reading the go-ahead:", err)
		os.Exit(2)
	}
}

func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	index := int(q*float64(len(sorted))+0.5) - 1
	if index < 0 {
		index = 0
	}
	if index >= len(sorted) {
		index = len(sorted) - 1
	}
	return sorted[index]
}

func cpuSeconds() float64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return float64(usage.Utime.Nano()+usage.Stime.Nano()) / 1e9
}

func summarise(c config, workers []*worker, elapsed time.Duration) summary {
	s := summary{URL: c.url, Concurrency: c.concurrency, Statuses: map[string]int64{},
		GenProcs: c.procs, WarmupS: c.warmup.Seconds()}
	var all []float64
	var total float64
	for _, w := range workers {
		all = append(all, w.latencies...)
		s.Errors += w.errors
		s.BodyErrors += w.bodyErrs
		for status, n := range w.statuses {
			s.Statuses[fmt.Sprint(status)] += n
		}
		if w.lastError != "" {
			s.LastError = w.lastError
		}
	}
	sort.Float64s(all)
	for _, v := range all {
		total += v
	}
	s.Requests = int64(len(all))
	s.DurationS = elapsed.Seconds()
	if s.DurationS > 0 {
		s.RPS = float64(s.Requests) / s.DurationS
	}
	if s.Requests > 0 {
		s.MeanMs = total / float64(s.Requests)
		s.MaxMs = all[len(all)-1]
	}
	s.P50Ms, s.P90Ms, s.P99Ms = percentile(all, 0.50), percentile(all, 0.90), percentile(all, 0.99)
	s.CappedByReqs = c.maxRequests > 0 && s.Requests >= c.maxRequests
	return s
}

func main() {
	c := parseFlags()
	runtime.GOMAXPROCS(c.procs)
	bodies := readBodies(c.bodiesPath)
	client := newClient(c)
	workers := make([]*worker, c.concurrency)
	for i := range workers {
		workers[i] = &worker{statuses: map[int]int64{}}
	}
	var reserved int64
	if c.warmup > 0 {
		phase(client, c, bodies, workers, time.Now().Add(c.warmup), false, &reserved)
	}
	if c.sync {
		handshake()
	}
	start := time.Now()
	phase(client, c, bodies, workers, start.Add(c.duration), true, &reserved)
	// Answers to requests sent before the end still count: closed loop.
	elapsed := time.Since(start)
	s := summarise(c, workers, elapsed)
	s.GenCPUS = cpuSeconds()
	out, _ := json.Marshal(s)
	fmt.Println(string(out))
}
