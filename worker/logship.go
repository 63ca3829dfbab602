package worker

import (
	"bytes"
	"sync"
	"unicode/utf8"

	"github.com/gust-sched/gust/metadb"
)

// logShipper keeps what a try's log gained since it was last stored in
// Postgres, for the heartbeats and the result to carry (see metadb's task
// logs). It holds at most about max_log_size bytes whatever happens to the
// database: the head (the first half of max_log_size) is shipped in chunks
// as it comes, and once it is full a ring keeps the last half, shipped as
// the one tail row; what falls out of the ring is left out, and readers see
// a marker line saying how much.
//
// Text is made valid UTF-8 without NUL bytes before it is counted (a
// Postgres text column takes nothing else): invalid bytes become U+FFFD,
// and a sequence cut between two writes waits for its end.
type logShipper struct {
	mu  sync.Mutex
	try metadb.TryKey

	headMax  int64 // bytes the head may hold; < 0: unbounded
	headSize int64 // bytes in the head (shipped or not)
	headFull bool
	cur      []byte // head bytes not sealed into a chunk yet
	curPos   int64  // offset of cur
	nextSeq  int
	pending  []metadb.LogChunk // sealed head chunks not known to be stored

	tail      ring
	tailDirty bool   // the tail changed since it was last stored
	tailGen   uint64 // counts tail changes

	written int64  // offset past the last byte taken in
	carry   []byte // an incomplete UTF-8 sequence waiting for its end

	// callback: the result is stored and text may follow it (a callback
	// runs); the result's shipment leaves a mark, the last one removes it.
	callback bool
}

// newLogShipper returns a shipper for a try whose stored log ends as
// resume says, keeping at most maxSize bytes (0: no limit).
func newLogShipper(try metadb.TryKey, maxSize int64, resume metadb.LogResume) *logShipper {
	s := &logShipper{try: try, headMax: -1, nextSeq: max(resume.NextSeq, 1), written: resume.End, curPos: resume.End,
		headSize: resume.HeadSize}
	if maxSize > 0 {
		s.headMax = maxSize / 2
		s.tail.max = int(maxSize - s.headMax)
		// A resumed log (a sensor's next poke) that has a tail continues in
		// it; the old tail's bytes are left out.
		s.headFull = resume.HasTail || s.headSize >= s.headMax
	}
	return s
}

// Write takes in text of the log; it never fails.
func (s *logShipper) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(s.clean(p))
	return len(p), nil
}

// clean returns the carried bytes and p as valid UTF-8 without NUL,
// keeping a trailing incomplete sequence for the next write.
func (s *logShipper) clean(p []byte) []byte {
	b := p
	if len(s.carry) > 0 {
		b = append(s.carry, p...)
		s.carry = nil
	}
	cut := len(b)
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				cut = i
			}
			break
		}
	}
	if cut < len(b) {
		s.carry = append([]byte(nil), b[cut:]...)
		b = b[:cut]
	}
	if !utf8.Valid(b) {
		b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
	}
	if bytes.IndexByte(b, 0) >= 0 {
		b = bytes.ReplaceAll(b, []byte{0}, []byte("\uFFFD"))
	}
	return b
}

func (s *logShipper) add(b []byte) {
	if len(b) == 0 {
		return
	}
	s.written += int64(len(b))
	if !s.headFull {
		n := len(b)
		if s.headMax >= 0 && int64(n) > s.headMax-s.headSize {
			n = int(s.headMax - s.headSize)
			for n > 0 && !utf8.RuneStart(b[n]) {
				n--
			}
			s.headFull = true
		}
		s.cur = append(s.cur, b[:n]...)
		s.headSize += int64(n)
		b = b[n:]
	}
	if len(b) > 0 {
		s.tail.write(b)
		s.tailDirty = true
		s.tailGen++
	}
}

// shipment is what one statement carries for a try.
type shipment struct {
	chunks  []metadb.LogChunk
	lastSeq int    // the last head chunk it carries
	tailGen uint64 // the tail it carries (0: none)
}

// take returns the chunks not known to be stored: sealed head chunks, the
// head's new bytes, the tail when it changed, and the callback mark when
// wanted. final flushes an incomplete UTF-8 sequence. Chunks stay until
// acked, so that a failed statement's chunks go with the next one.
func (s *logShipper) take(final bool) shipment {
	s.mu.Lock()
	defer s.mu.Unlock()
	if final && len(s.carry) > 0 {
		carry := s.carry
		s.carry = nil
		s.add(bytes.ToValidUTF8(carry, []byte("\uFFFD")))
	}
	if len(s.cur) > 0 {
		s.pending = append(s.pending, metadb.LogChunk{Try: s.try, Seq: s.nextSeq, Pos: s.curPos, Content: string(s.cur)})
		s.nextSeq++
		s.curPos += int64(len(s.cur))
		s.cur = nil
	}
	var sh shipment
	sh.chunks = append(sh.chunks, s.pending...)
	if len(s.pending) > 0 {
		sh.lastSeq = s.pending[len(s.pending)-1].Seq
	}
	if s.tailDirty {
		t := s.tail.bytes()
		if s.written-int64(len(t)) > s.curPos {
			// Bytes fell out of the ring: start the tail at a character,
			// and at a line when one starts near the ring's start.
			i := 0
			for i < len(t) && !utf8.RuneStart(t[i]) {
				i++
			}
			if j := bytes.IndexByte(t[i:min(len(t), i+4096)], '\n'); j >= 0 && i+j+1 < len(t) {
				i += j + 1
			}
			t = t[i:]
		}
		sh.chunks = append(sh.chunks, metadb.LogChunk{Try: s.try, Seq: metadb.LogTailSeq, Pos: s.written - int64(len(t)), Content: string(t)})
		sh.tailGen = s.tailGen
	}
	if s.callback {
		sh.chunks = append(sh.chunks, metadb.LogChunk{Try: s.try, Seq: metadb.LogCallbackSeq, Pos: s.written})
	}
	return sh
}

// ack records that a shipment is stored.
func (s *logShipper) ack(sh shipment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := 0
	for i < len(s.pending) && s.pending[i].Seq <= sh.lastSeq {
		i++
	}
	s.pending = append(s.pending[:0], s.pending[i:]...)
	if sh.tailGen != 0 && sh.tailGen == s.tailGen {
		s.tailDirty = false
	}
}

// setCallback says whether the next shipments leave the callback mark.
func (s *logShipper) setCallback(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callback = on
}

// ring keeps the last max bytes written to it.
type ring struct {
	max  int
	buf  []byte
	next int // where the next byte goes once buf is full
}

func (r *ring) write(p []byte) {
	if r.max <= 0 {
		return
	}
	if len(p) >= r.max {
		r.buf = append(r.buf[:0], p[len(p)-r.max:]...)
		r.next = 0
		return
	}
	if room := r.max - len(r.buf); room > 0 {
		n := min(room, len(p))
		r.buf = append(r.buf, p[:n]...)
		p = p[n:]
	}
	for len(p) > 0 {
		n := copy(r.buf[r.next:], p)
		p = p[n:]
		r.next = (r.next + n) % r.max
	}
}

// bytes returns a copy of what the ring holds, oldest first.
func (r *ring) bytes() []byte {
	out := make([]byte, 0, len(r.buf))
	if len(r.buf) < r.max {
		return append(out, r.buf...)
	}
	return append(append(out, r.buf[r.next:]...), r.buf[:r.next]...)
}
