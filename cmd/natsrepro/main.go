// Command natsrepro reproduces, without MetricStream, what the 3-node JetStream tests of issue
// 12 saw: after kill -9 of an R3 stream's leader and its restart, nats-server 2.9.10 may answer
// a stream info request ($JS.API.STREAM.INFO) from the restarted replica's own state, far
// behind the stream, while every replica holds every acknowledged message.
//
// Each round starts three nodes on free loopback ports (store in a temporary directory),
// creates an R3 stream with direct gets allowed, publishes asynchronously with Nats-Msg-Id
// (republishing what fails with the same id), kills the stream leader with SIGKILL, publishes
// on under the new leader, stops, restarts the killed node and then:
//
//   - sends a stream info request every 100 ms for -probe and counts the answers whose message
//     count differs from the acknowledged one (each request has its own reply subject, so
//     several answers to one request are seen);
//   - waits until every node's /jsz reports the same state, reads the stream by sequence from
//     the leader ($JS.API.STREAM.MSG.GET) and from each replica (direct gets sent to that node),
//     and checks every PubAck against them.
//
// -scenario down instead stops all three nodes (SIGTERM) for -down while the publishers keep
// trying, starts them again and makes the same checks: the whole-cluster restart after which
// the tests once saw replicas differing from the leader.
//
// Usage: go run ./cmd/natsrepro -rounds 5 [-scenario down] (needs nats-server on PATH).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func main() {
	rounds := flag.Int("rounds", 5, "rounds, each with a new cluster")
	payload := flag.Int("payload", 34000, "bytes per message")
	scenario := flag.String("scenario", "leader", "leader: kill -9 of the stream leader, then its restart; down: all three nodes stopped (SIGTERM) for -down, then started")
	down := flag.Duration("down", 5*time.Second, "how long the whole cluster stays down (scenario down)")
	workers := flag.Int("workers", 4, "concurrent publishers")
	window := flag.Int("window", 1, "messages each publisher has in flight")
	probe := flag.Duration("probe", 15*time.Second, "how long stream info is probed after the restart")
	flag.Parse()
	if _, err := exec.LookPath("nats-server"); err != nil {
		fmt.Fprintln(os.Stderr, "natsrepro: nats-server is not on PATH")
		os.Exit(2)
	}
	var staleRounds, lossRounds int
	for r := range *rounds {
		dir, err := os.MkdirTemp("", "natsrepro")
		if err != nil {
			fail(err)
		}
		cfg := config{scenario: *scenario, payload: *payload, workers: *workers, window: *window, probe: *probe, down: *down}
		stale, lost := round(dir, r, cfg)
		os.RemoveAll(dir)
		if stale > 0 {
			staleRounds++
		}
		if lost {
			lossRounds++
		}
	}
	fmt.Printf("%d of %d rounds: stream info answered from a stale replica; %d of %d rounds: an acknowledged message missing or misplaced on some node\n",
		staleRounds, *rounds, lossRounds, *rounds)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "natsrepro:", err)
	os.Exit(1)
}

func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// poll calls f every 50 ms until it holds or d passes.
func poll(d time.Duration, what string, f func() bool) {
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			fail(errors.New("timed out waiting for " + what))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type node struct {
	name, addr, mon, conf string
	cmd                   *exec.Cmd
	done                  chan struct{}
}

func (n *node) start() {
	n.cmd = exec.Command("nats-server", "-c", n.conf)
	if err := n.cmd.Start(); err != nil {
		fail(err)
	}
	n.done = make(chan struct{})
	go func() { n.cmd.Wait(); close(n.done) }()
}

func (n *node) stop(sig syscall.Signal) {
	if n.cmd != nil {
		n.cmd.Process.Signal(sig)
		<-n.done
		n.cmd = nil
	}
}

// state is a node's own view of the stream (its /jsz).
type state struct {
	Msgs   uint64 `json:"messages"`
	First  uint64 `json:"first_seq"`
	Last   uint64 `json:"last_seq"`
	Leader string `json:"-"`
}

func (n *node) state(stream string) (state, bool) {
	if n.cmd == nil {
		return state{}, false
	}
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + n.mon + "/jsz?accounts=true&streams=true")
	if err != nil {
		return state{}, false
	}
	defer resp.Body.Close()
	var jsz struct {
		Accounts []struct {
			Streams []struct {
				Name    string `json:"name"`
				Cluster struct {
					Leader string `json:"leader"`
				} `json:"cluster"`
				State state `json:"state"`
			} `json:"stream_detail"`
		} `json:"account_details"`
	}
	if json.NewDecoder(resp.Body).Decode(&jsz) != nil {
		return state{}, false
	}
	for _, a := range jsz.Accounts {
		for _, s := range a.Streams {
			if s.Name == stream {
				st := s.State
				st.Leader = s.Cluster.Leader
				return st, true
			}
		}
	}
	return state{}, false
}

// leader returns the leader every running node names and the leader's message count.
func leader(nodes []*node) (string, uint64) {
	var name string
	var msgs uint64
	for _, n := range nodes {
		if n.cmd == nil {
			continue
		}
		st, ok := n.state("R3")
		if !ok || st.Leader == "" || (name != "" && st.Leader != name) {
			return "", 0
		}
		name = st.Leader
		if n.name == name {
			msgs = st.Msgs
		}
	}
	return name, msgs
}

type ack struct {
	seq uint64
	dup bool
}

// publisher runs workers goroutines; each publishes its own ids (w<worker>-<n>) asynchronously
// in windows of window messages until stop is closed, and republishes what fails with the same
// id after 1 s (as MetricStream's forwarder does, which has 4 batches in flight).
type publisher struct {
	js              jetstream.JetStream
	body            []byte
	workers, window int
	mu              sync.Mutex
	acks            map[string][]ack
}

func (p *publisher) run(stop <-chan struct{}, done chan<- int) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for w := range p.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := p.work(w, stop)
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	done <- total
}

func (p *publisher) work(w int, stop <-chan struct{}) (published int) {
	for {
		select {
		case <-stop:
			return published
		default:
		}
		ids := make([]string, p.window)
		for i := range ids {
			ids[i] = fmt.Sprintf("w%d-%06d", w, published)
			published++
		}
		for len(ids) > 0 {
			futures := make([]jetstream.PubAckFuture, len(ids))
			for i, id := range ids {
				m := nats.NewMsg("r3")
				m.Data = p.body
				m.Header.Set(jetstream.MsgIDHeader, id)
				futures[i], _ = p.js.PublishMsgAsync(m)
			}
			var left []string
			for i, f := range futures {
				if f == nil {
					left = append(left, ids[i])
					continue
				}
				select {
				case a := <-f.Ok():
					p.mu.Lock()
					p.acks[ids[i]] = append(p.acks[ids[i]], ack{a.Sequence, a.Duplicate})
					p.mu.Unlock()
				case <-f.Err():
					left = append(left, ids[i])
				}
			}
			ids = left
			if len(left) > 0 {
				time.Sleep(time.Second) // the backoff before a republish
			}
		}
	}
}

func (p *publisher) acked() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.acks)
}

type config struct {
	scenario                 string
	payload, workers, window int
	probe, down              time.Duration
}

// round runs one round: a fresh 3-node cluster and an R3 stream, publishers, the scenario's
// disturbance, then the read-back of what every node holds against the PubAcks.
func round(dir string, r int, cfg config) (stale int, lost bool) {
	nodes, servers := startCluster(dir)
	defer func() {
		for _, n := range nodes {
			n.stop(syscall.SIGTERM)
		}
	}()
	nc, err := nats.Connect(servers, nats.MaxReconnects(-1), nats.ReconnectWait(time.Second),
		nats.RetryOnFailedConnect(true), nats.ReconnectBufSize(-1))
	if err != nil {
		fail(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096), jetstream.WithPublishAsyncTimeout(2*time.Second))
	poll(30*time.Second, "the stream created", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "R3", Subjects: []string{"r3"}, Storage: jetstream.FileStorage,
			Replicas: 3, Duplicates: 10 * time.Minute, AllowDirect: true})
		return err == nil
	})

	p := &publisher{js: js, body: []byte(strings.Repeat("x", cfg.payload-1) + "\n"), workers: cfg.workers, window: cfg.window,
		acks: map[string][]ack{}}
	published, what := disturb(nodes, p, cfg)
	total := uint64(p.acked())
	if cfg.probe > 0 {
		stale = probeInfo(servers, total, cfg.probe)
	}
	return stale, check(r, nodes, servers, p, published, what, stale)
}

// startCluster writes the configurations of three nodes on free loopback ports and starts them.
func startCluster(dir string) ([]*node, string) {
	var nodes []*node
	var clients, routes []string
	for range 3 {
		clients = append(clients, freePort())
		routes = append(routes, "nats-route://"+freePort())
	}
	for i := range 3 {
		n := &node{name: fmt.Sprintf("n%d", i+1), addr: clients[i], mon: freePort()}
		n.conf = filepath.Join(dir, n.name+".conf")
		conf := fmt.Sprintf("server_name: %s\nlisten: %s\nhttp: %s\njetstream { store_dir: %q, max_file_store: 1G }\n"+
			"cluster { name: central, listen: %s, routes: [%s] }\n",
			n.name, n.addr, n.mon, filepath.Join(dir, n.name), strings.TrimPrefix(routes[i], "nats-route://"), strings.Join(routes, ", "))
		if err := os.WriteFile(n.conf, []byte(conf), 0o644); err != nil {
			fail(err)
		}
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		n.start()
	}
	return nodes, "nats://" + strings.Join(clients, ",nats://")
}

// disturb runs the publishers through the scenario (the whole cluster down, or the stream
// leader killed) and returns how many ids they published and what was done.
func disturb(nodes []*node, p *publisher, cfg config) (published int, what string) {
	stop, done := make(chan struct{}), make(chan int)
	go p.run(stop, done)
	var old string
	var msgs uint64
	poll(30*time.Second, "a leader and 20 messages", func() bool {
		old, msgs = leader(nodes)
		return old != "" && msgs > 20
	})
	if cfg.scenario == "down" {
		for _, n := range nodes {
			n.stop(syscall.SIGTERM)
		}
		time.Sleep(cfg.down) // the outage: the publishers keep trying
		for _, n := range nodes {
			n.start()
		}
		// Publish on until the cluster took 20 more messages.
		poll(60*time.Second, "the restarted cluster taking 20 messages", func() bool {
			l, m := leader(nodes)
			return l != "" && m > msgs+20
		})
		close(stop)
		return <-done, "all nodes stopped for " + cfg.down.String() + " and started"
	}
	var killed *node
	for _, n := range nodes {
		if n.name == old {
			killed = n
		}
	}
	killed.stop(syscall.SIGKILL)
	poll(30*time.Second, "a new leader taking 20 messages", func() bool {
		l, m := leader(nodes)
		return l != "" && l != old && m > msgs+20
	})
	close(stop)
	published = <-done
	killed.start()
	return published, "leader " + old + " killed and restarted"
}

// check waits until every node holds the same stream, reads it from the leader and from each
// replica, compares them with the PubAcks, prints the round's line and reports a loss.
func check(r int, nodes []*node, servers string, p *publisher, published int, what string, stale int) bool {
	total := uint64(p.acked())
	var agreed state
	poll(60*time.Second, "every node holding the same stream", func() bool {
		for i, n := range nodes {
			st, ok := n.state("R3")
			if !ok || st.Leader == "" || (i > 0 && st != agreed) {
				return false
			}
			agreed = st
		}
		return true
	})
	fromLeader := readLeader(servers, agreed)
	missing := 0
	for id, as := range p.acks {
		for _, a := range as {
			if fromLeader[a.seq] != id {
				missing++
			}
		}
	}
	repeated, seen := 0, map[string]bool{}
	for _, id := range fromLeader {
		if seen[id] {
			repeated++
		}
		seen[id] = true
	}
	differ := map[string]int{}
	for _, n := range nodes {
		for seq, id := range readReplica(n, agreed) {
			if fromLeader[seq] != id {
				differ[n.name]++
			}
		}
	}
	fmt.Printf("round %d: %s; %d ids published, %d acknowledged; every node then holds %d (first %d, last %d); "+
		"%d PubAcks whose sequence does not hold their message; %d messages repeating an id; replicas differing from the leader: %v; %d stale stream info answers\n",
		r, what, published, total, agreed.Msgs, agreed.First, agreed.Last, missing, repeated, differ, stale)
	return missing > 0 || repeated > 0 || len(differ) > 0 || int(total) != published || agreed.Msgs != total
}

// probeInfo sends a stream info request every 100 ms for d, each with its own reply subject,
// and returns how many answers gave a message count other than want.
func probeInfo(servers string, want uint64, d time.Duration) (stale int) {
	nc, err := nats.Connect(servers)
	if err != nil {
		fail(err)
	}
	defer nc.Close()
	answers := make(chan *nats.Msg, 1024)
	prefix := nats.NewInbox()
	sub, err := nc.ChanSubscribe(prefix+".*", answers)
	if err != nil {
		fail(err)
	}
	defer sub.Unsubscribe()
	start := time.Now()
	sent := map[string]time.Time{}
	perRequest := map[string]int{}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	current, errs := 0, 0
	for time.Since(start) < d {
		select {
		case <-tick.C:
			reply := fmt.Sprintf("%s.%d", prefix, len(sent))
			sent[reply] = time.Now()
			nc.PublishRequest("$JS.API.STREAM.INFO.R3", reply, nil)
		case m := <-answers:
			perRequest[m.Subject]++
			var info struct {
				State struct {
					Msgs uint64 `json:"messages"`
					Last uint64 `json:"last_seq"`
				} `json:"state"`
				Cluster struct {
					Leader string `json:"leader"`
				} `json:"cluster"`
				Error *struct {
					Description string `json:"description"`
				} `json:"error"`
			}
			json.Unmarshal(m.Data, &info)
			switch {
			case info.Error != nil:
				errs++
			case info.State.Msgs == want:
				current++
			default:
				stale++
				fmt.Printf("  %.1f s after the restart: stream info answered %d messages (last sequence %d, leader %q); %d were acknowledged\n",
					sent[m.Subject].Sub(start).Seconds(), info.State.Msgs, info.State.Last, info.Cluster.Leader, want)
			}
		}
	}
	several := 0
	for _, c := range perRequest {
		if c > 1 {
			several++
		}
	}
	fmt.Printf("  stream info: %d requests, %d current answers, %d stale, %d errors, %d requests answered more than once\n",
		len(sent), current, stale, errs, several)
	return stale
}

// readLeader reads every sequence through $JS.API.STREAM.MSG.GET, which only the leader answers.
func readLeader(servers string, st state) map[uint64]string {
	nc, err := nats.Connect(servers)
	if err != nil {
		fail(err)
	}
	defer nc.Close()
	return readEach(nc, "$JS.API.STREAM.MSG.GET.R3", "a message from the leader", st, func(seq uint64, m *nats.Msg) string {
		var resp struct {
			Message *struct {
				Hdrs []byte `json:"hdrs"`
			} `json:"message"`
		}
		if json.Unmarshal(m.Data, &resp) == nil && resp.Message != nil {
			return msgID(resp.Message.Hdrs)
		}
		return ""
	})
}

// readReplica reads every sequence from node n's own replica: direct gets sent to n alone (a
// server hands a queue group's request to its local member).
func readReplica(n *node, st state) map[uint64]string {
	nc, err := nats.Connect("nats://"+n.addr, nats.NoReconnect())
	if err != nil {
		fail(err)
	}
	defer nc.Close()
	return readEach(nc, "$JS.API.DIRECT.GET.R3", "a direct get from "+n.name, st, func(seq uint64, m *nats.Msg) string {
		if m.Header.Get("Status") == "" && m.Header.Get(jetstream.SequenceHeader) == strconv.FormatUint(seq, 10) {
			return m.Header.Get(jetstream.MsgIDHeader)
		}
		return ""
	})
}

// readEach requests every sequence of st from subject, retrying each until answered, and maps
// the sequences to the message ids idOf finds in the answers ("" for none: left out).
func readEach(nc *nats.Conn, subject, what string, st state, idOf func(seq uint64, m *nats.Msg) string) map[uint64]string {
	out := map[uint64]string{}
	for seq := st.First; seq <= st.Last; seq++ {
		var m *nats.Msg
		poll(30*time.Second, what, func() bool {
			var err error
			m, err = nc.Request(subject, fmt.Appendf(nil, `{"seq":%d}`, seq), 2*time.Second)
			return err == nil
		})
		if id := idOf(seq, m); id != "" {
			out[seq] = id
		}
	}
	return out
}

// msgID returns the Nats-Msg-Id of a raw NATS/1.0 header block.
func msgID(hdrs []byte) string {
	for _, l := range strings.Split(string(hdrs), "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, jetstream.MsgIDHeader) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
