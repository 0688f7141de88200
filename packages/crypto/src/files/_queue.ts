/**
 * A FIFO of byte arrays that hands out exact-length slices, so a stream can be re-chunked without
 * concatenating everything it has seen. Internal to the file stream.
 *
 * @module
 */

/** Bytes received but not yet consumed, kept as the arrays they arrived in. */
export class ByteQueue {
  #pieces: Uint8Array[] = [];
  #head = 0;
  #length = 0;

  /** Number of bytes queued. */
  get length(): number {
    return this.#length;
  }

  /** Appends `bytes` (kept by reference, not copied). */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#pieces.push(bytes);
    this.#length += bytes.length;
  }

  /** Removes and returns the first `n` bytes (`n <= length`) as a new array. */
  take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const piece = this.#pieces[0]!;
      const available = piece.length - this.#head;
      const count = Math.min(available, n - filled);
      out.set(piece.subarray(this.#head, this.#head + count), filled);
      filled += count;
      if (count === available) {
        this.#pieces.shift();
        this.#head = 0;
      } else {
        this.#head += count;
      }
    }
    this.#length -= n;
    return out;
  }
}
