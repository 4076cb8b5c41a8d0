// loadgen posts one JSON body to an HTTPS URL, either open loop at a fixed arrival rate or closed
// loop over a fixed number of connections, and prints latency percentiles as JSON.
//
// Open loop: request i is due at start + i/rate whatever happened to earlier requests, and its
// latency is measured from that due time, so a server that stalls is charged for the queue it
// causes (no coordinated omission). Go and its standard library only: the generator must cost
// far less CPU than the server it measures, which a Python client on the same cores does not.
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"syscall"
	"time"
)

type result struct {
	Mode         string         `json:"mode"`
	URL          string         `json:"url"`
	Rate         float64        `json:"target_rate"`
	Connections  int            `json:"connections"`
	Seconds      float64        `json:"seconds"`
	Requests     int            `json:"requests"`
	Achieved     float64        `json:"achieved_rate"`
	Errors       int            `json:"errors"`
	Statuses     map[string]int `json:"statuses"`
	Skipped      int            `json:"skipped"`
	P50          float64        `json:"p50_ms"`
	P90          float64        `json:"p90_ms"`
	P99          float64        `json:"p99_ms"`
	P999         float64        `json:"p999_ms"`
	Max          float64        `json:"max_ms"`
	GeneratorCPU float64        `json:"generator_cpu_seconds"`
	FirstError   string         `json:"first_error,omitempty"`
	BodyBytes    int            `json:"body_bytes"`
}

type sample struct {
	latency time.Duration
	status  string
}

func main() {
	url := flag.String("url", "", "https URL to POST to")
	caFile := flag.String("ca", "", "PEM CA bundle that signs the server certificate")
	bodyFile := flag.String("body", "", "file with the request body (JSON)")
	rate := flag.Float64("rate", 0, "arrivals per second (open loop); 0 = closed loop")
	conns := flag.Int("connections", 16, "closed loop: connections; open loop: max in flight")
	duration := flag.Duration("duration", 10*time.Second, "measured time")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured time before")
	timeout := flag.Duration("timeout", 10*time.Second, "per-request timeout")
	flag.Parse()

	ca, err := os.ReadFile(*caFile)
	check(err)
	body, err := os.ReadFile(*bodyFile)
	check(err)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		check(fmt.Errorf("no certificate in %s", *caFile))
	}
	transport := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool},
		MaxIdleConns:        *conns,
		MaxIdleConnsPerHost: *conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	client := &http.Client{Transport: transport, Timeout: *timeout}

	send := func() (string, error) {
		req, err := http.NewRequest(http.MethodPost, *url, bytes.NewReader(body))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return fmt.Sprint(resp.StatusCode), err
	}

	var mu sync.Mutex
	var samples []sample
	var firstError string
	record := func(s sample, err error, measured bool) {
		if !measured {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			s.status = "error"
			if firstError == "" {
				firstError = err.Error()
			}
		}
		samples = append(samples, s)
	}

	skipped := 0
	start := time.Now()
	measureFrom := start.Add(*warmup)
	end := measureFrom.Add(*duration)
	var wg sync.WaitGroup
	mode := "closed"
	if *rate > 0 {
		mode = "open"
		interval := time.Duration(float64(time.Second) / *rate)
		inFlight := make(chan struct{}, *conns)
		for i := 0; ; i++ {
			due := start.Add(time.Duration(i) * interval)
			if !due.Before(end) {
				break
			}
			if wait := time.Until(due); wait > 0 {
				time.Sleep(wait)
			}
			select {
			case inFlight <- struct{}{}:
			default:
				// More than --connections requests outstanding: the server is far behind.
				// Counted, never silently dropped.
				if !due.Before(measureFrom) {
					skipped++
				}
				continue
			}
			wg.Add(1)
			go func(due time.Time) {
				defer wg.Done()
				status, err := send()
				<-inFlight
				record(sample{time.Since(due), status}, err, !due.Before(measureFrom))
			}(due)
		}
	} else {
		for c := 0; c < *conns; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					began := time.Now()
					if !began.Before(end) {
						return
					}
					status, err := send()
					record(sample{time.Since(began), status}, err, !began.Before(measureFrom))
				}
			}()
		}
	}
	wg.Wait()

	var usage syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	cpu := time.Duration(usage.Utime.Nano() + usage.Stime.Nano())

	out := result{
		Mode: mode, URL: *url, Rate: *rate, Connections: *conns, Seconds: duration.Seconds(),
		Requests: len(samples), Statuses: map[string]int{}, Skipped: skipped,
		GeneratorCPU: cpu.Seconds(), FirstError: firstError, BodyBytes: len(body),
	}
	latencies := make([]float64, 0, len(samples))
	for _, s := range samples {
		out.Statuses[s.status]++
		if s.status != "200" {
			out.Errors++
		}
		latencies = append(latencies, float64(s.latency.Microseconds())/1000)
	}
	sort.Float64s(latencies)
	pick := func(q float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		i := int(q * float64(len(latencies)))
		if i >= len(latencies) {
			i = len(latencies) - 1
		}
		return latencies[i]
	}
	out.P50, out.P90, out.P99, out.P999 = pick(0.50), pick(0.90), pick(0.99), pick(0.999)
	if len(latencies) > 0 {
		out.Max = latencies[len(latencies)-1]
	}
	out.Achieved = float64(len(samples)) / duration.Seconds()
	check(json.NewEncoder(os.Stdout).Encode(out))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
}
