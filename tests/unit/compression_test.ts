import assert from "node:assert/strict";
import fc from "fast-check";
import {
  compressLz4,
  compressSnappy,
  decompressGzip,
  decompressLz4,
  decompressSnappy,
  decompressZstd,
  MAX_DECOMPRESSED_BYTES,
  zstdBound,
} from "../../src/compression.ts";
import zlib from "node:zlib";

const text = (s: string) => new TextEncoder().encode(s);
const SAMPLE = "hello hello hello hello anomaly flow\n";
/** The bytes of a hex string. */
const hex = (h: string) => Uint8Array.from(h.match(/../g)!, (b) => parseInt(b, 16));

Deno.test("snappy and lz4 batches decompress to exactly what was compressed, for any bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 70_000 }), (bytes) => {
      assert.deepEqual(decompressSnappy(compressSnappy(bytes)), bytes);
      assert.deepEqual(decompressLz4(compressLz4(bytes)), bytes);
    }),
    { numRuns: 200 },
  );
  // Past one LZ4 block (64 KiB) and one snappy block: 6,000 events of JSON.
  const large = text(
    Array.from({ length: 6_000 }, (_, i) => `{"sensor_id":"s${i % 7}","value":${i * 0.37}}`).join(
      "\n",
    ),
  );
  assert.ok(large.length > 2 ** 17);
  assert.deepEqual(decompressSnappy(compressSnappy(large)), large);
  assert.deepEqual(decompressLz4(compressLz4(large)), large);
});

Deno.test("snappy in the Java client's xerial framing: its chunks are joined in order", () => {
  const parts = ["first chunk, ", "second chunk, ", "third"].map(text);
  const header = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1];
  const chunks = parts.flatMap((p) => {
    const c = compressSnappy(p);
    return [c.length >>> 24, (c.length >>> 16) & 255, (c.length >>> 8) & 255, c.length & 255, ...c];
  });
  const framed = new Uint8Array([...header, ...chunks]);
  assert.equal(
    new TextDecoder().decode(decompressSnappy(framed)),
    "first chunk, second chunk, third",
  );
  // A chunk cut short is an error, not a partial batch.
  assert.throws(() => decompressSnappy(framed.subarray(0, framed.length - 2)), /truncated/);
});

Deno.test("frames written by the lz4 and zstd command-line tools decompress", () => {
  // `printf '…' | lz4 -c | xxd -p` and `| zstd -c | xxd -p` (the reference implementations).
  const lz4Frame = hex(
    "04224d186440a7170000006e68656c6c6f200600d0616e6f6d616c7920666c6f770a000000000e24ee4b",
  );
  const zstdFrame = hex(
    "28b52ffd0458cd00009868656c6c6f20616e6f6d616c7920666c6f770a0100f14a114e0347f4",
  );
  assert.equal(new TextDecoder().decode(decompressLz4(lz4Frame)), SAMPLE);
  assert.equal(new TextDecoder().decode(decompressZstd(zstdFrame)), SAMPLE);
});

Deno.test("a batch larger than the decompression limit is refused before anything is allocated; a cut one is an error", () => {
  // An LZ4 frame of 65 blocks of up to 4 MiB each (blocks of 1 byte here, 260 MiB at most).
  const blocks = Array.from({ length: 65 }, () => [1, 0, 0, 0, 0]).flat();
  const frame = new Uint8Array([4, 34, 77, 24, 0x40, 0x70, 0, ...blocks, 0, 0, 0, 0]);
  assert.throws(() => decompressLz4(frame), /at most/);
  assert.throws(() => decompressLz4(frame.subarray(0, 30)), /truncated/);
  assert.throws(() => decompressLz4(text("not a frame")), /not an LZ4 frame/);
  // A raw snappy block whose length preamble says 2 GiB.
  assert.throws(() => decompressSnappy(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x08, 0, 0, 0])));
  assert.ok(MAX_DECOMPRESSED_BYTES >= 64 * 2 ** 20, "room for a full fetch of 1 MiB events");
});

/** A zstd frame of RLE blocks of 128 KiB of `a` (window 128 KiB, no content size declared). */
function zstdRle(blocks: number): Uint8Array {
  const out = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38];
  for (let i = 0; i < blocks; i++) {
    const header = (i === blocks - 1 ? 1 : 0) | (1 << 1) | (2 ** 17 * 8);
    out.push(header & 255, (header >> 8) & 255, (header >> 16) & 255, 0x61);
  }
  return new Uint8Array(out);
}

Deno.test("a zstd batch is bounded by its blocks before it is decompressed: a bomb of a few KB is refused, a frame's bound is what it holds", () => {
  const three = zstdRle(3);
  assert.equal(zstdBound(three), 3 * 2 ** 17);
  const out = decompressZstd(three);
  assert.equal(out.length, 3 * 2 ** 17);
  assert.ok(out.every((b) => b === 0x61));
  // 2,100 blocks: 8 KB that would regenerate 275 MB.
  const bomb = zstdRle(2_100);
  assert.ok(bomb.length < 10_000);
  assert.throws(() => decompressZstd(bomb), /a batch of up to 275251200 bytes, at most/);
  assert.throws(() => decompressZstd(three, 2 ** 18), /at most 262144/);
  // A frame claiming a 2 TiB window (fzstd would allocate it up front) and a cut frame.
  assert.throws(
    () => zstdBound(Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, 1, 0, 0])),
    /window/,
  );
  assert.throws(() => zstdBound(three.subarray(0, 9)), /truncated/);
  // The command-line tool's frame (with a checksum) is bounded by what it holds.
  const cli = hex("28b52ffd0458cd00009868656c6c6f20616e6f6d616c7920666c6f770a0100f14a114e0347f4");
  assert.ok(zstdBound(cli) >= SAMPLE.length);
});

Deno.test("a gzip batch past the limit is refused; within it, it decompresses whole", () => {
  const zeros = new Uint8Array(2 * 2 ** 20);
  const gz = zlib.gzipSync(zeros);
  assert.throws(() => decompressGzip(gz, 2 ** 20));
  assert.deepEqual(new Uint8Array(decompressGzip(gz)), zeros);
});
