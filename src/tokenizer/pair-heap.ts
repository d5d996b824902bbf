/**
 * Data structures of the BPE trainer: a hash table that gives every symbol pair (left id, right id)
 * a dense index and holds its current count, and a max-heap of merge candidates.
 *
 * Pairs are keyed by two int32 ids in typed arrays (not a Map of strings or of doubles) because the
 * trainer looks pairs up several times per merged occurrence, hundreds of millions of times on a
 * large corpus.
 */

function grownInt32(a: Int32Array, min: number): Int32Array<ArrayBuffer> {
  const out = new Int32Array(Math.max(min, a.length * 2));
  out.set(a);
  return out;
}

function grownFloat64(a: Float64Array, min: number): Float64Array<ArrayBuffer> {
  const out = new Float64Array(Math.max(min, a.length * 2));
  out.set(a);
  return out;
}

/** Open-addressing (linear probing) map (left, right) -> pair index, with a count per pair. */
export class PairTable {
  left = new Int32Array(1 << 12);
  right = new Int32Array(1 << 12);
  /** Weighted number of occurrences in the corpus (word count times occurrences in the word). */
  count = new Float64Array(1 << 12);
  size = 0;
  /** pair index + 1 per slot, 0 = empty; kept at most half full. */
  private slots = new Int32Array(1 << 13);
  private mask = (1 << 13) - 1;

  private static hash(l: number, r: number): number {
    let h = Math.imul(l, 0x9e3779b1) ^ Math.imul(r + 0x632be5ab, 0x85ebca77);
    h ^= h >>> 15;
    return Math.imul(h, 0x2c1b3c6d) ^ (h >>> 13);
  }

  /** Index of the pair, created with count 0 when new. */
  id(l: number, r: number): number {
    const slots = this.slots;
    let s = PairTable.hash(l, r) & this.mask;
    for (;;) {
      const v = slots[s]!;
      if (v === 0) break;
      if (this.left[v - 1] === l && this.right[v - 1] === r) return v - 1;
      s = (s + 1) & this.mask;
    }
    const p = this.size++;
    if (p >= this.left.length) {
      this.left = grownInt32(this.left, p + 1);
      this.right = grownInt32(this.right, p + 1);
      this.count = grownFloat64(this.count, p + 1);
    }
    this.left[p] = l;
    this.right[p] = r;
    this.count[p] = 0;
    slots[s] = p + 1;
    if (this.size * 2 > slots.length) this.rehash();
    return p;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let p = 0; p < this.size; p++) {
      let s = PairTable.hash(this.left[p]!, this.right[p]!) & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = p + 1;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

/**
 * Max-heap of merge candidates, each (count, pair, word list) as Hugging Face's trainer keeps them:
 * the count is the pair's count when the entry was pushed (re-checked when it reaches the top), and
 * the word list names the words where the pair was seen at that time (a word can be listed although
 * the pair has left it since; merging it then changes nothing). Order: higher count first, then the
 * smaller left id, then the smaller right id.
 */
export class MergeQueue {
  private heap = new Int32Array(1 << 12);
  private n = 0;
  private entCount = new Float64Array(1 << 12);
  private entPair = new Int32Array(1 << 12);
  private entWords: (number[] | undefined)[] = [];
  private free: number[] = [];
  private used = 0;

  constructor(private readonly pairs: PairTable) {}

  get length(): number {
    return this.n;
  }

  push(pair: number, count: number, words: number[]): void {
    let e = this.free.pop();
    if (e === undefined) {
      e = this.used++;
      if (e >= this.entPair.length) {
        this.entPair = grownInt32(this.entPair, e + 1);
        this.entCount = grownFloat64(this.entCount, e + 1);
      }
    }
    this.entPair[e] = pair;
    this.entCount[e] = count;
    this.entWords[e] = words;
    if (this.n >= this.heap.length) this.heap = grownInt32(this.heap, this.n + 1);
    this.heap[this.n] = e;
    this.siftUp(this.n++);
  }

  /** Pair of the top entry. */
  topPair(): number {
    return this.entPair[this.heap[0]!]!;
  }

  /** Count the top entry was pushed (or last re-checked) with. */
  topCount(): number {
    return this.entCount[this.heap[0]!]!;
  }

  /** Re-files the top entry under a new count (Hugging Face pops and pushes it again). */
  updateTopCount(count: number): void {
    this.entCount[this.heap[0]!] = count;
    this.siftDown(0);
  }

  /** Removes the top entry and returns its word list. */
  pop(): number[] {
    const e = this.heap[0]!;
    const words = this.entWords[e]!;
    this.entWords[e] = undefined;
    this.free.push(e);
    this.n--;
    if (this.n > 0) {
      this.heap[0] = this.heap[this.n]!;
      this.siftDown(0);
    }
    return words;
  }

  /** True when entry a goes before entry b. */
  private before(a: number, b: number): boolean {
    const ca = this.entCount[a]!;
    const cb = this.entCount[b]!;
    if (ca !== cb) return ca > cb;
    const pa = this.entPair[a]!;
    const pb = this.entPair[b]!;
    const la = this.pairs.left[pa]!;
    const lb = this.pairs.left[pb]!;
    if (la !== lb) return la < lb;
    return this.pairs.right[pa]! < this.pairs.right[pb]!;
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const e = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pe = heap[parent]!;
      if (!this.before(e, pe)) break;
      heap[i] = pe;
      i = parent;
    }
    heap[i] = e;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = this.n;
    const e = heap[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.before(heap[child + 1]!, heap[child]!)) child++;
      const ce = heap[child]!;
      if (!this.before(ce, e)) break;
      heap[i] = ce;
      i = child;
    }
    heap[i] = e;
  }
}
