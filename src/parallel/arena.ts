/**
 * Blocks of doubles in one shared WebAssembly.Memory, handed out by the main
 * thread (first fit with coalescing; the memory grows when nothing fits).
 * Every lane of a Compute sees the same memory, so a block written once is
 * read by all threads without a copy.
 *
 * Only the thread that owns the arena allocates. Views must be taken fresh
 * (`f64()`) after anything that may have grown the memory.
 */

/** Offsets are bytes, 16-byte aligned (SIMD rows); sizes are counted in doubles. */
export class SharedArena {
  /** Bytes below this are never handed out (the kernels' static area). */
  static readonly BASE = 65536;
  private top = SharedArena.BASE;
  /** Free blocks below `top`, sorted by offset, never adjacent. */
  private readonly free: { off: number; bytes: number }[] = [];
  private readonly live = new Map<number, number>();
  private view: Float64Array;

  constructor(readonly memory: WebAssembly.Memory) {
    this.view = new Float64Array(memory.buffer);
  }

  /** A view of the whole memory (fresh after growth). */
  f64(): Float64Array {
    if (this.view.buffer.byteLength !== this.memory.buffer.byteLength) this.view = new Float64Array(this.memory.buffer);
    return this.view;
  }

  /** Bytes currently handed out (for tests and the bench). */
  get bytesInUse(): number {
    let s = 0;
    for (const b of this.live.values()) s += b;
    return s;
  }

  /** A block of `doubles` (uninitialized); its byte offset. */
  alloc(doubles: number): number {
    if (!Number.isInteger(doubles) || doubles < 0) throw new RangeError(`SharedArena.alloc: ${doubles} is not a size`);
    const bytes = Math.max(16, Math.ceil((doubles * 8) / 16) * 16);
    for (let k = 0; k < this.free.length; k++) {
      const b = this.free[k];
      if (b.bytes < bytes) continue;
      const off = b.off;
      if (b.bytes === bytes) this.free.splice(k, 1);
      else {
        b.off += bytes;
        b.bytes -= bytes;
      }
      this.live.set(off, bytes);
      return off;
    }
    const off = this.top;
    const end = off + bytes;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / 65536);
      try {
        this.memory.grow(pages);
      } catch (e) {
        throw new RangeError(`SharedArena: cannot grow the kernels' memory to ${Math.ceil(end / 2 ** 20)} MiB (${(e as Error).message})`);
      }
    }
    this.top = end;
    this.live.set(off, bytes);
    return off;
  }

  /** Give a block back. */
  release(off: number): void {
    const bytes = this.live.get(off);
    if (bytes === undefined) throw new Error(`SharedArena.release: no live block at ${off}`);
    this.live.delete(off);
    let k = 0;
    while (k < this.free.length && this.free[k].off < off) k++;
    this.free.splice(k, 0, { off, bytes });
    // Coalesce with the next and the previous block.
    if (k + 1 < this.free.length && this.free[k].off + this.free[k].bytes === this.free[k + 1].off) {
      this.free[k].bytes += this.free[k + 1].bytes;
      this.free.splice(k + 1, 1);
    }
    if (k > 0 && this.free[k - 1].off + this.free[k - 1].bytes === this.free[k].off) {
      this.free[k - 1].bytes += this.free[k].bytes;
      this.free.splice(k, 1);
      k--;
    }
    // A free block that ends at the top lowers the top.
    const last = this.free[this.free.length - 1];
    if (last && last.off + last.bytes === this.top) {
      this.top = last.off;
      this.free.pop();
    }
  }

  /** Copy `src` into the block at `off` (doubles). */
  write(off: number, src: ArrayLike<number>, at = 0): void {
    this.f64().set(src, off / 8 + at);
  }

  /** A copy of `doubles` values from the block at `off`. */
  read(off: number, doubles: number): Float64Array {
    return this.f64().slice(off / 8, off / 8 + doubles);
  }
}
