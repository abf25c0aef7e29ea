/**
 * Capture of one output stream within a byte cap, in constant memory.
 *
 * @module
 */

/** What is left of a stream once it ends. */
export interface CappedOutput {
  /** The kept bytes as UTF-8 text, invalid sequences and NUL replaced by U+FFFD. */
  text: string;
  /** How many bytes were cut from the middle to respect the cap. */
  droppedBytes: number;
}

/** A stream capture that keeps the first and the last bytes of the stream. */
export interface OutputCap {
  /** Adds the next bytes of the stream. */
  push(chunk: Uint8Array): void;
  /** Ends the capture and returns what was kept. */
  finish(): CappedOutput;
}

/**
 * Creates a capture that keeps at most `maxBytes` of a stream: the first half and the last half
 * of its bytes, counting what falls in between. Memory stays within `maxBytes` however much
 * the stream carries.
 *
 * @example
 * ```ts
 * const cap = createOutputCap(4);
 * cap.push(new TextEncoder().encode("abcdefgh"));
 * cap.finish(); // { text: "abgh", droppedBytes: 4 }
 * ```
 */
export function createOutputCap(maxBytes: number): OutputCap {
  if (!Number.isInteger(maxBytes) || maxBytes < 1) {
    throw new RangeError(
      `Cannot cap output as 'maxBytes' must be a positive integer: current value is ${maxBytes}`,
    );
  }
  const head = new HeadBuffer(Math.ceil(maxBytes / 2));
  const tail = new TailRing(maxBytes - head.capacity);
  return {
    push(chunk) {
      const rest = head.take(chunk);
      if (rest.length > 0) tail.push(rest);
    },
    finish() {
      const headBytes = head.bytes();
      const tailBytes = tail.bytes();
      // With nothing dropped the two parts are one contiguous run, so a character split
      // across them must be decoded whole.
      const text = tail.dropped === 0
        ? decode(concat(headBytes, tailBytes))
        : decode(headBytes) + decode(tailBytes);
      return { text, droppedBytes: tail.dropped };
    },
  };
}

/**
 * Decodes UTF-8 with replacement and swaps NUL, which PostgreSQL text cannot hold.
 *
 * @example
 * ```ts
 * decode(new Uint8Array([0x61, 0x00, 0xff])); // "a\uFFFD\uFFFD"
 * ```
 */
export function decode(bytes: Uint8Array): string {
  return new TextDecoder("utf-8", { fatal: false, ignoreBOM: true }).decode(bytes)
    .replaceAll("\u0000", "\uFFFD");
}

/** The first `capacity` bytes of a stream. */
class HeadBuffer {
  readonly capacity: number;
  #parts: Uint8Array[] = [];
  #length = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Keeps what still fits and returns the rest of `chunk`. */
  take(chunk: Uint8Array): Uint8Array {
    const room = this.capacity - this.#length;
    if (room <= 0) return chunk;
    const kept = chunk.subarray(0, room);
    this.#parts.push(kept.slice());
    this.#length += kept.length;
    return chunk.subarray(kept.length);
  }

  bytes(): Uint8Array {
    return concat(...this.#parts);
  }
}

/** The last `capacity` bytes of a stream, in a ring, counting what was pushed out. */
class TailRing {
  readonly capacity: number;
  dropped = 0;
  #ring: Uint8Array | null = null;
  #start = 0;
  #length = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  push(chunk: Uint8Array): void {
    if (this.capacity === 0) {
      this.dropped += chunk.length;
      return;
    }
    this.#ring ??= new Uint8Array(this.capacity);
    if (chunk.length >= this.capacity) {
      this.dropped += this.#length + chunk.length - this.capacity;
      this.#ring.set(chunk.subarray(chunk.length - this.capacity));
      this.#start = 0;
      this.#length = this.capacity;
      return;
    }
    const overflow = Math.max(0, this.#length + chunk.length - this.capacity);
    this.dropped += overflow;
    this.#start = (this.#start + overflow) % this.capacity;
    this.#length -= overflow;
    const end = (this.#start + this.#length) % this.capacity;
    const first = Math.min(chunk.length, this.capacity - end);
    this.#ring.set(chunk.subarray(0, first), end);
    this.#ring.set(chunk.subarray(first), 0);
    this.#length += chunk.length;
  }

  bytes(): Uint8Array {
    if (!this.#ring) return new Uint8Array(0);
    const firstEnd = Math.min(this.#start + this.#length, this.capacity);
    return concat(
      this.#ring.subarray(this.#start, firstEnd),
      this.#ring.subarray(0, this.#length - (firstEnd - this.#start)),
    );
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
