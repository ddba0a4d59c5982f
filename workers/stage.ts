/**
 * A stage worker: checks its slice of each batch and scores every valid event on its shard of
 * the forest (score, then learn). Protocol: src/stage.ts.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import {
  buildForest,
  exportMasses,
  type Forest,
  importMasses,
  scoreLearnBatch,
} from "../src/hst.ts";
import type { CheckLimits } from "../src/event.ts";
import { checkSlice, type StageReply, type StageRequest } from "../src/stage.ts";

let forest: Forest | undefined;
let limits: CheckLimits | undefined;

function reply(message: StageReply, transfer: Transferable[] = []) {
  self.postMessage(message, transfer);
}

self.onmessage = (e: MessageEvent<StageRequest>) => {
  const msg = e.data;
  try {
    switch (msg.type) {
      case "init":
        forest = buildForest(msg.forest, msg.shard);
        if (msg.masses) importMasses(forest, msg.masses);
        limits = msg.limits;
        reply({ type: "ready" });
        return;
      case "check": {
        const result = checkSlice(msg.bytes, msg.offsets, limits!);
        reply({ type: "checked", id: msg.id, result }, [
          result.status.buffer,
          result.ts.buffer,
          result.features.buffer,
        ]);
        return;
      }
      case "export": {
        const state = exportMasses(forest!);
        reply({ type: "exported", id: msg.id, state }, [state.entries.buffer]);
        return;
      }
      case "score": {
        const masses = new Float64Array(msg.n);
        scoreLearnBatch(forest!, msg.features, msg.n, masses);
        reply({ type: "scored", id: msg.id, masses }, [masses.buffer]);
        return;
      }
    }
  } catch (err) {
    reply({
      type: "error",
      id: "id" in msg ? msg.id : -1,
      message: String((err as Error)?.stack ?? err),
    });
  }
};
