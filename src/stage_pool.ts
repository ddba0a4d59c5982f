/**
 * The stage workers (workers/stage.ts) of a pipeline behind one small interface: start them, ask
 * one, or ask every one the same thing ({@link StagePool.broadcast}). A worker that dies fails
 * every pending call and is reported once through `onFatal`.
 *
 * @module
 */
import type { StageReply, StageRequest } from "./stage.ts";

/** A reply of the given type. */
export type ReplyOf<T extends StageReply["type"]> = Extract<StageReply, { type: T }>;

/** The running stage workers. */
export interface StagePool {
  readonly size: number;
  /** Sends `request` to worker `index`; resolves with its reply of type `type` (else throws). */
  call<T extends StageReply["type"]>(
    index: number,
    request: StageRequest,
    type: T,
    transfer?: Transferable[],
  ): Promise<ReplyOf<T>>;
  /** Sends `request(index, id)` to every worker; resolves with their replies, in worker order. */
  broadcast<T extends StageReply["type"]>(
    request: (index: number, id: number) => StageRequest,
    type: T,
  ): Promise<ReplyOf<T>[]>;
  /** A new request id. */
  nextId(): number;
  terminate(): void;
}

interface StageWorker {
  call(request: StageRequest, transfer?: Transferable[]): Promise<StageReply>;
  terminate(): void;
}

function startWorker(url: URL, onFatal: (e: Error) => void): StageWorker {
  const worker = new Worker(url, { type: "module" });
  const pending = new Map<number, (r: StageReply) => void>();
  let ready: ((r: StageReply) => void) | undefined;
  const fail = (e: Error) => {
    onFatal(e);
    for (const resolve of pending.values()) resolve({ type: "error", id: -1, message: e.message });
    pending.clear();
  };
  worker.onmessage = (e: MessageEvent<StageReply>) => {
    const msg = e.data;
    if (msg.type === "ready") return ready?.(msg);
    const resolve = pending.get(msg.id);
    pending.delete(msg.id);
    resolve?.(msg);
  };
  worker.onerror = (e) => {
    e.preventDefault();
    fail(new Error(`stage worker failed: ${e.message}`));
  };
  return {
    call(request, transfer = []) {
      return new Promise((resolve) => {
        if (request.type === "init") ready = resolve;
        else pending.set(request.id, resolve);
        worker.postMessage(request, transfer);
      });
    },
    terminate: () => worker.terminate(),
  };
}

function expect<T extends StageReply["type"]>(r: StageReply, type: T): ReplyOf<T> {
  if (r.type === "error") throw new Error(`stage worker: ${r.message}`);
  if (r.type !== type) throw new Error(`stage worker: expected ${type}, got ${r.type}`);
  return r as ReplyOf<T>;
}

/** Starts `count` stage workers from `url`. */
export function createStagePool(url: URL, count: number, onFatal: (e: Error) => void): StagePool {
  const workers = Array.from({ length: count }, () => startWorker(url, onFatal));
  let id = 0;
  const pool: StagePool = {
    size: count,
    async call(index, request, type, transfer) {
      return expect(await workers[index].call(request, transfer), type);
    },
    broadcast(request, type) {
      return Promise.all(workers.map((_, i) => pool.call(i, request(i, id++), type)));
    },
    nextId: () => id++,
    terminate() {
      for (const w of workers) w.terminate();
    },
  };
  return pool;
}
