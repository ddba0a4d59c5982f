/**
 * Model checkpoints in a compacted Kafka topic, so any instance of the consumer group can restore
 * them: the {@link ModelState} and the offsets of the events it has learned, gzip-compressed and
 * cut into chunks that fit Kafka's default record size.
 *
 * A checkpoint is tied to offsets: it holds exactly the events before its offsets. The processor
 * writes one only when those offsets are committed, and on restore it seeks back to them, so the
 * events after the checkpoint are learned once and nothing is learned twice.
 *
 * Records: key `<group>/<chunk>` (compaction keeps the newest of each), value = chunk bytes,
 * headers `checkpoint_id`, `chunk`, `chunks`.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Kafka, Producer } from "kafkajs";
import type { ModelState } from "./pipeline.ts";

/** A checkpoint: the model state and the next offset per partition of the events it learned. */
export interface Checkpoint {
  topic: string;
  offsets: Record<number, string>;
  state: ModelState;
  /** Wall-clock time it was taken, ms. */
  takenAt: number;
}

/** Largest chunk, bytes (Kafka's default record limit is 1 MiB). */
export const CHUNK_BYTES = 512 * 1024;

async function gzip(
  bytes: Uint8Array<ArrayBuffer>,
  mode: "compress" | "decompress",
): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(
    mode === "compress" ? new CompressionStream("gzip") : new DecompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Checkpoint → bytes: `[u32 header length][header JSON][Int32 mass entries]`, gzip. */
export async function encodeCheckpoint(c: Checkpoint): Promise<Uint8Array> {
  const { entries, ...masses } = c.state.masses;
  const header = new TextEncoder().encode(JSON.stringify({ ...c, state: { ...c.state, masses } }));
  const body = new Uint8Array(4 + header.length + entries.byteLength);
  new DataView(body.buffer).setUint32(0, header.length, true);
  body.set(header, 4);
  body.set(
    new Uint8Array(entries.buffer, entries.byteOffset, entries.byteLength),
    4 + header.length,
  );
  return await gzip(body, "compress");
}

/** Bytes → checkpoint (inverse of {@link encodeCheckpoint}). */
export async function decodeCheckpoint(bytes: Uint8Array<ArrayBuffer>): Promise<Checkpoint> {
  const body = await gzip(bytes, "decompress");
  const length = new DataView(body.buffer, body.byteOffset).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(body.subarray(4, 4 + length)));
  const raw = body.slice(4 + length);
  header.state.masses.entries = new Int32Array(raw.buffer, 0, raw.byteLength / 4);
  return header as Checkpoint;
}

/** Writes `checkpoint` for `group` to `topic` (acks from all replicas). Returns its size in bytes. */
export async function writeCheckpoint(
  producer: Producer,
  topic: string,
  group: string,
  checkpoint: Checkpoint,
): Promise<number> {
  const bytes = await encodeCheckpoint(checkpoint);
  const chunks = Math.max(1, Math.ceil(bytes.length / CHUNK_BYTES));
  const id = `${checkpoint.takenAt}-${crypto.randomUUID().slice(0, 8)}`;
  await producer.send({
    topic,
    acks: -1,
    messages: Array.from({ length: chunks }, (_, i) => ({
      key: `${group}/${i}`,
      value: Buffer.from(bytes.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES)),
      headers: { checkpoint_id: id, chunk: String(i), chunks: String(chunks), group },
    })),
  });
  return bytes.length;
}

/** The newest complete checkpoint of `group` in `topic`, or undefined. */
export async function readCheckpoint(
  kafka: Kafka,
  topic: string,
  group: string,
): Promise<Checkpoint | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  let high: number;
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    high = Number(ends.find((e) => e.partition === 0)?.high ?? 0);
  } finally {
    await admin.disconnect();
  }
  if (high === 0) return undefined;
  const readerGroup = `${group}.checkpoint-reader.${crypto.randomUUID()}`;
  const consumer = kafka.consumer({ groupId: readerGroup, maxWaitTimeInMs: 100 });
  const byId = new Map<string, { chunks: number; parts: Map<number, Uint8Array>; order: number }>();
  let order = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`reading checkpoints from ${topic} timed out`)),
        60_000,
      );
      consumer.run({
        autoCommit: false,
        eachMessage: ({ message }) => {
          const h = message.headers ?? {};
          if (h.group?.toString() === group && message.value) {
            const id = h.checkpoint_id!.toString();
            const entry = byId.get(id) ??
              { chunks: Number(h.chunks), parts: new Map(), order: order++ };
            entry.parts.set(Number(h.chunk), new Uint8Array(message.value));
            byId.set(id, entry);
          }
          if (Number(message.offset) + 1 >= high) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      });
    });
  } finally {
    await consumer.disconnect();
    const admin2 = kafka.admin();
    await admin2.connect();
    await admin2.deleteGroups([readerGroup]).catch(() => {});
    await admin2.disconnect();
  }
  const complete = [...byId.values()].filter((e) => e.parts.size === e.chunks).sort((a, b) =>
    b.order - a.order
  );
  if (complete.length === 0) return undefined;
  const newest = complete[0];
  const total = [...newest.parts.values()].reduce((a, p) => a + p.length, 0);
  const bytes = new Uint8Array(total);
  for (let i = 0, at = 0; i < newest.chunks; i++) {
    bytes.set(newest.parts.get(i)!, at);
    at += newest.parts.get(i)!.length;
  }
  return await decodeCheckpoint(bytes);
}
