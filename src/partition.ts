/**
 * What the processor knows of each partition it owns, in one type, and what a batch of that
 * partition may do given it — a pure decision, so every delivery rule is testable without a
 * broker (after the model of Redpanda Connect's checkpoint tracking).
 *
 * The rules, in order:
 * 1. **Rewound** to a checkpoint: batches fetched before the seek took effect are skipped until
 *    one starts at the checkpoint's offset.
 * 2. **Already acknowledged** (a commit was refused and the group gave the records back): the
 *    records below `acked` had their alerts and dead letters acknowledged, so they are committed,
 *    not processed again.
 * 3. **Re-learned**: after a rewind, records below `relearn` (the group's committed offset at the
 *    rewind) are learned by the model only: no alert, dead letter, count or commit of their own.
 *
 * @module
 */

/** What a committed batch adds to the metrics. */
export interface BatchCounts {
  /** Records per check code (0 = passed every check). */
  perCheck: number[];
  alerts: number;
  /** Labelled records: normal kept, normal flagged, anomaly missed, anomaly flagged. */
  truth: number[];
  /** Alerts by what decided them ({@link causeKey}). */
  causes: Map<string, number>;
}

/** The key of an alert's cause in {@link BatchCounts.causes}: its basis, then its feature. */
export function causeKey(basis: string, feature: string): string {
  return `${basis}\u0000${feature}`;
}

/** The basis and feature of a {@link causeKey}. */
export function causeOfKey(key: string): { basis: string; feature: string } {
  const at = key.indexOf("\u0000");
  return { basis: key.slice(0, at), feature: key.slice(at + 1) };
}

/** `from` added into `into`; returns `into`. */
export function addCounts(into: BatchCounts, from: BatchCounts): BatchCounts {
  from.perCheck.forEach((v, i) => into.perCheck[i] += v);
  from.truth.forEach((v, i) => into.truth[i] += v);
  into.alerts += from.alerts;
  for (const [k, v] of from.causes) into.causes.set(k, (into.causes.get(k) ?? 0) + v);
  return into;
}

/** One owned partition. */
export interface PartitionState {
  /** Next offset after the batches handed to the pipeline. */
  enqueued?: bigint;
  /** Next offset after the records committed (or known committed). */
  committed?: bigint;
  /** Next offset after the records whose alerts and dead letters were acknowledged. */
  acked?: bigint;
  /** Counts of acknowledged records whose commit was refused (counted once committed). */
  uncounted?: BatchCounts;
  /** Set after a rewind to a checkpoint: the offset the next batch must start at. */
  seekTo?: string;
  /** Set after a rewind: records below it are learned only (see the module doc). */
  relearn?: bigint;
  /** Events its model had scored at its latest checkpoint. */
  checkpointedScored: number;
  /** Entity evictions of its model already counted in the metrics. */
  evictedCounted?: number;
}

/** What a batch does, from {@link planBatch}. */
export type BatchPlan =
  /** Fetched before the rewind took effect: leave it, the seek fetches again. */
  | { action: "skip" }
  /**
   * Nothing to process (every record acknowledged already, or none shown: the records of aborted
   * transactions and transaction markers): commit up to `last`. `rewound`: this batch starts at
   * the rewind's offset (clear `seekTo`).
   */
  | { action: "commit"; last: string; rewound?: boolean }
  /**
   * Process records `[start, n)`; of those, the first `learnOnly` are learned only. `rewound`:
   * this batch starts at the rewind's offset (clear `seekTo`).
   */
  | { action: "process"; start: number; learnOnly: number; rewound: boolean };

/**
 * The offsets a fetched batch spans, including records the consumer does not show (those of
 * aborted transactions, transaction markers): kafkajs' `firstOffset()` and `lastOffset()`.
 */
export interface BatchRange {
  first: string;
  last: string;
}

/**
 * The plan of a batch with shown record offsets `offsets` (ascending) on `state`. `range` is the
 * span the batch was fetched over; without it, that of `offsets` (at least one).
 */
export function planBatch(
  state: PartitionState,
  offsets: readonly string[],
  range: BatchRange = { first: offsets[0], last: offsets[offsets.length - 1] },
): BatchPlan {
  const rewound = state.seekTo !== undefined;
  if (rewound && range.first !== state.seekTo) return { action: "skip" };
  const end = BigInt(range.last);
  let start = 0;
  if (state.acked !== undefined) {
    while (start < offsets.length && BigInt(offsets[start]) < state.acked) start++;
  }
  if (start === offsets.length) {
    const acked = state.acked ?? 0n;
    const last = String(acked - 1n > end ? acked - 1n : end);
    return rewound ? { action: "commit", last, rewound } : { action: "commit", last };
  }
  let learnOnly = 0;
  if (state.relearn !== undefined) {
    while (
      start + learnOnly < offsets.length && BigInt(offsets[start + learnOnly]) < state.relearn
    ) {
      learnOnly++;
    }
  }
  return { action: "process", start, learnOnly, rewound };
}

/** The owned partitions' states, and waiting for a partition's commits. */
export interface Partitions {
  /** The state of `partition` (created empty when new). */
  get(partition: number): PartitionState;
  /** Forgets `partition` (taken away); its waiters are rejected. */
  drop(partition: number): void;
  /** Records that `partition` is committed up to (not including) `next`; wakes its waiters. */
  committed(partition: number, next: bigint): void;
  /**
   * Resolves once `partition` is committed up to `offset`; rejects after `timeoutMs` or when the
   * partition is dropped.
   */
  untilCommitted(partition: number, offset: bigint, timeoutMs: number): Promise<void>;
}

/** An empty {@link Partitions}. */
export function createPartitions(): Partitions {
  const states = new Map<number, PartitionState>();
  const waiters = new Map<number, Set<{ offset: bigint; done: (error?: Error) => void }>>();
  const wake = (partition: number, error?: Error) => {
    const next = states.get(partition)?.committed ?? -1n;
    for (const w of waiters.get(partition) ?? []) {
      if (error || next >= w.offset) {
        waiters.get(partition)!.delete(w);
        w.done(error);
      }
    }
  };
  return {
    get(partition) {
      let s = states.get(partition);
      if (!s) states.set(partition, s = { checkpointedScored: 0 });
      return s;
    },
    drop(partition) {
      states.delete(partition);
      wake(partition, new Error("partition reassigned"));
    },
    committed(partition, next) {
      this.get(partition).committed = next;
      wake(partition);
    },
    untilCommitted(partition, offset, timeoutMs) {
      if ((states.get(partition)?.committed ?? -1n) >= offset) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const w = {
          offset,
          done: (error?: Error) => {
            clearTimeout(timer);
            error ? reject(error) : resolve();
          },
        };
        const timer = setTimeout(() => {
          waiters.get(partition)?.delete(w);
          reject(new Error(`batches before the checkpoint were not committed in ${timeoutMs} ms`));
        }, timeoutMs);
        if (!waiters.has(partition)) waiters.set(partition, new Set());
        waiters.get(partition)!.add(w);
      });
    },
  };
}
