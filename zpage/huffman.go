package zpage

import "math/bits"

// huffLengths sets lens[sym] to the code length of each symbol of freq, no
// longer than limit, for a prefix code of least cost: symbols with a zero
// frequency get 0. When only one symbol occurs it gets length 1 (deflate
// wants a complete code, or a single code of one bit). sorted is scratch
// space of 2*len(freq).
func huffLengths(freq []uint32, lens []uint8, limit int, sorted []uint32) {
	clear(lens)
	// Symbols with their frequency, in ascending order of frequency:
	// freq<<10 | symbol (alphabets have at most 288 symbols, a page at most
	// 64 Ki occurrences of one).
	// Every symbol is written, the next one over it unless it occurs: no
	// branch on the frequency (sorted has room for all).
	all := sorted[:len(freq)]
	k := 0
	var hi uint32
	for sym, f := range freq {
		all[k] = f<<10 | uint32(sym)
		k += int((uint64(f) + 0xffffffff) >> 32) // 1 if f > 0
		hi |= f
	}
	s := all[:k]
	switch len(s) {
	case 0:
		return
	case 1:
		lens[s[0]&1023] = 1
		return
	}
	if len(s) <= 32 {
		// Few symbols (a page that is mostly one byte): an insertion sort
		// costs less than the radix sort's tables.
		insertionSort(s)
	} else {
		radixSort(s, sorted[len(sorted)/2:][:len(s)], hi)
	}
	n := len(s)
	// Moffat and Katajainen's in-place algorithm: a holds the weights,
	// then parent indices, then depths.
	var buf [320]uint32
	a := buf[:n]
	for i, v := range s {
		a[i] = v >> 10
	}
	leaf, root := 0, 0
	for next := 0; next < n-1; next++ {
		// First child: the lighter of the next leaf and the next root.
		if leaf >= n || (root < next && a[root] < a[leaf]) {
			a[next] = a[root]
			a[root] = uint32(next)
			root++
		} else {
			a[next] = a[leaf]
			leaf++
		}
		// Second child.
		if leaf >= n || (root < next && a[root] < a[leaf]) {
			a[next] += a[root]
			a[root] = uint32(next)
			root++
		} else {
			a[next] += a[leaf]
			leaf++
		}
	}
	a[n-2] = 0
	for next := n - 3; next >= 0; next-- {
		a[next] = a[a[next]] + 1
	}
	avail, used, depth := 1, 0, uint32(0)
	root, next := n-2, n-1
	for avail > 0 {
		for root >= 0 && a[root] == depth {
			used++
			root--
		}
		for avail > used {
			a[next] = depth
			next--
			avail--
		}
		avail, depth, used = 2*used, depth+1, 0
	}
	// a[i] is now the length of the i-th lightest symbol (non-increasing).
	if int(a[0]) > limit {
		limitLengths(a, limit)
	}
	for i, v := range s {
		lens[v&1023] = uint8(a[i])
	}
}

// limitLengths makes the non-increasing lengths a, of a complete prefix
// code, no longer than limit and still complete: the longest are cut to
// limit, and the code space they then overspend is won back by moving
// codes one level down, from the deepest level above limit that has one.
// The lightest symbols (first in a) get the longest codes.
func limitLengths(a []uint32, limit int) {
	var count [33]int
	for _, l := range a {
		count[min(int(l), limit)]++
	}
	// Kraft sum in units of 2^-limit.
	total := 0
	for l := 1; l <= limit; l++ {
		total += count[l] << (limit - l)
	}
	for total > 1<<limit {
		count[limit]--
		for l := limit - 1; l > 0; l-- {
			if count[l] > 0 {
				count[l]--
				count[l+1] += 2
				break
			}
		}
		total--
	}
	i := 0
	for l := limit; l > 0; l-- {
		for range count[l] {
			a[i] = uint32(l)
			i++
		}
	}
}

// canonical sets codes[sym] to the canonical code of each length in lens
// (RFC 1951 3.2.2), bit-reversed for a writer that sends the least
// significant bit first.
func canonical(lens []uint8, codes []uint16) {
	// Two tables of counts, for alternate symbols (see radixSort).
	var count, count2 [16]uint16
	for i := 0; i+1 < len(lens); i += 2 {
		count[lens[i]&15]++
		count2[lens[i+1]&15]++
	}
	if len(lens)&1 != 0 {
		count[lens[len(lens)-1]&15]++
	}
	for l := range count {
		count[l] += count2[l]
	}
	count[0] = 0
	var next [16]uint16
	code := uint16(0)
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	for sym, l := range lens {
		if l == 0 {
			continue
		}
		c := next[l]
		next[l]++
		codes[sym] = reverse(c, l)
	}
}

func reverse(c uint16, n uint8) uint16 { return bits.Reverse16(c) >> (16 - n) }

// radixSort sorts s (frequency<<10 | symbol) by frequency, stably, a byte
// of the frequency at a time (hi has every frequency bit that occurs);
// tmp is scratch of len(s).
func radixSort(s, tmp []uint32, hi uint32) {
	for shift := uint(10); hi>>(shift-10) != 0; shift += 8 {
		// Two tables of counts, for alternate symbols: increments of the
		// same count (many symbols share a frequency) wait on each other.
		var count, count2 [256]int
		if len(s)&1 != 0 {
			count[(s[len(s)-1]>>shift)&0xff]++
		}
		for i := 0; i+1 < len(s); i += 2 {
			count[(s[i]>>shift)&0xff]++
			count2[(s[i+1]>>shift)&0xff]++
		}
		// Where each digit's symbols start, the running sum in a register.
		sum := 0
		for i := range count {
			c := count[i] + count2[i]
			count[i] = sum
			sum += c
		}
		for _, v := range s {
			d := (v >> shift) & 0xff
			tmp[count[d]] = v
			count[d]++
		}
		copy(s, tmp)
	}
}

// insertionSort sorts s (frequency<<10 | symbol) by value: by frequency,
// symbols of equal frequency in symbol order, as radixSort leaves them
// when s starts in symbol order.
func insertionSort(s []uint32) {
	for i := 1; i < len(s); i++ {
		v, j := s[i], i
		for ; j > 0 && s[j-1] > v; j-- {
			s[j] = s[j-1]
		}
		s[j] = v
	}
}
